#ifndef KEYWARDEN_PEER_CREDENTIALS_H
#define KEYWARDEN_PEER_CREDENTIALS_H

/* `struct ucred` and SO_PEERCRED need _GNU_SOURCE, which Swift's Glibc module
   does not define; mirror them here (layout per socket(7)). */
#include <stdint.h>

typedef struct {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} kw_ucred;

/* SO_PEERCRED on Linux. */
static inline int kw_so_peercred(void) { return 17; }

/* Keep other processes of the same user from reading our memory (ptrace,
   /proc/PID/mem) and from getting a core dump: prctl(PR_SET_DUMPABLE, 0). */
#include <sys/prctl.h>
static inline int kw_disable_dumping(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

#endif
