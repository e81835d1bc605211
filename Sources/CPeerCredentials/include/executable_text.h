#ifndef KEYWARDEN_EXECUTABLE_TEXT_H
#define KEYWARDEN_EXECUTABLE_TEXT_H

/* Where the running executable's machine code is mapped, for StartupCodePages
   (dl_iterate_phdr is in <link.h>, which Swift's Glibc module does not export). */
#include <stdint.h>

/* The executable's PT_LOAD segments that are executable and not writable,
   each [starts[i], ends[i]), at most `capacity` of them. Returns how many;
   -1 when there is no executable to look at, or when it has text
   relocations (DT_TEXTREL, DF_TEXTREL: the loader wrote its code pages). */
int kw_executable_text_segments(uintptr_t *starts, uintptr_t *ends, int capacity);

/* Whether a mapping listed in `smaps_path` (/proc/self/smaps) that overlaps
   [start, end) holds anonymous pages: private copies of file pages that were
   written (a debugger's breakpoint, a uprobe). 1 yes, 0 no, -1 unreadable. */
int kw_range_has_written_pages(const char *smaps_path, uintptr_t start, uintptr_t end);

/* For StartupCodePagesTests: 1 while a table of pointers that the loader
   relocated at start still points at its strings. */
int kw_relocated_table_intact(void);

#endif
