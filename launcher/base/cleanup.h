/* Scope-bound cleanup in the manner of crun and systemd: a variable declared
 * with one of these macros is released when it goes out of scope. Hand
 * ownership over explicitly with steal_pointer()/steal_fd(). */
#ifndef VMRUN_CLEANUP_H
#define VMRUN_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void cleanup_fclosep(FILE **f)
{
    if (*f != NULL)
        fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
    if (*d != NULL)
        closedir(*d);
}

/* A child that must not outlive an error path: killed and reaped. */
static inline void cleanup_pidp(pid_t *pid)
{
    if (*pid > 0) {
        int saved = errno;
        kill(*pid, SIGKILL);
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
            ;
        errno = saved;
    }
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(cleanup_closedirp)))
#define cleanup_pid __attribute__((cleanup(cleanup_pidp)))

#define steal_pointer(pp)                                                                          \
    ({                                                                                             \
        __typeof__(*(pp)) _stolen = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        _stolen;                                                                                   \
    })

#define steal_fd(fdp)                                                                              \
    ({                                                                                             \
        int _stolen = *(fdp);                                                                      \
        *(fdp) = -1;                                                                               \
        _stolen;                                                                                   \
    })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
