#ifndef KEYWARDEN_CSODIUM_SHIM_H
#define KEYWARDEN_CSODIUM_SHIM_H
#include <sodium.h>
#endif
