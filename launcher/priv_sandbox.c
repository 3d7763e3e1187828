/* Probing QEMU for -sandbox (priv_sandbox.h). */
#include "priv_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static bool probe(const char *qemu_binary)
{
    /* No seccomp in the kernel: QEMU would fail at start, not at parse. */
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
        return false;

    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return false;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)qemu_binary, (char *)"-sandbox", (char *)QEMU_SANDBOX_ARG,
                    (char *)"-version", NULL};
    pid_t pid;
    int r = posix_spawnp(&pid, qemu_binary, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return false;

    /* -version answers at once; a binary that hangs is not a QEMU we want. */
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 10) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return false;
        if (waited_ms >= 5000) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return false;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool qemu_supports_sandbox(const char *qemu_binary)
{
    static char cached_binary[4096];
    static bool cached_answer;
    if (qemu_binary == NULL || *qemu_binary == '\0')
        qemu_binary = "qemu-system-x86_64";
    if (strlen(qemu_binary) >= sizeof(cached_binary))
        return false;
    if (strcmp(cached_binary, qemu_binary) == 0)
        return cached_answer;
    cached_answer = probe(qemu_binary);
    strcpy(cached_binary, qemu_binary);
    return cached_answer;
}
