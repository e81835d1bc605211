#ifndef KEYWARDEN_EXECUTABLE_TEXT_H
#define KEYWARDEN_EXECUTABLE_TEXT_H

/* Where the running executable's machine code is mapped, for StartupCodePages
   (dl_iterate_phdr is in <link.h>, which Swift's Glibc module does not export). */
#include <stdint.h>

/* The lowest start and highest end of the executable's PT_LOAD segments that
   are executable and not writable. 0 when found, -1 otherwise. */
int kw_executable_text(uintptr_t *start, uintptr_t *end);

#endif
