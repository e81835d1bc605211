#include "peer_credentials.h"
