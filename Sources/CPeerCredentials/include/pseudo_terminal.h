#ifndef KEYWARDEN_PSEUDO_TERMINAL_H
#define KEYWARDEN_PSEUDO_TERMINAL_H

/* The pseudo-terminal and process calls `run --mask` needs, which Swift's
   Glibc module hides behind _XOPEN_SOURCE/_GNU_SOURCE (see pseudo_terminal.c). */
#include <stddef.h>

/* A new pty master (O_RDWR | O_NOCTTY | O_CLOEXEC), granted and unlocked;
   its slave's path in `path`. -1 with errno on failure. */
int kw_open_pty_master(char *path, size_t size);

/* pipe2(fds, O_CLOEXEC). */
int kw_pipe_cloexec(int fds[2]);

/* POSIX_SPAWN_SETSID (glibc 2.26 and later). */
short kw_posix_spawn_setsid(void);

/* posix_spawn_file_actions_addclosefrom_np (glibc 2.34 and later): the child
   closes every descriptor from `lowest` up, whatever its close-on-exec flag,
   so a pipe another thread made without one cannot leak into it (a daemon
   that inherits a pipe's write end keeps its reader from ever seeing EOF). */
#include <spawn.h>
int kw_posix_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

#endif
