/* Probing QEMU for -sandbox (priv_sandbox.h). */
#include "qemu/qemu_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/prctl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qemu/qemu_probe.h"
#include "sys/child_env.h"
#include "sys/hostpath.h"

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
    char exe[PATH_MAX];
    if (child_find_program(qemu_binary, exe, sizeof(exe)) < 0) {
        posix_spawn_file_actions_destroy(&fa);
        return false;
    }
    int r = posix_spawn(&pid, exe, &fa, NULL, argv, child_env_plain());
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

/* The answer for one QEMU binary is kept in the state directory, keyed by
 * the binary's identity (device, inode, size, mtime): probing runs QEMU
 * once, which costs more than the rest of a start; a stat does not. An
 * upgraded QEMU is a new file and is probed again. */
static bool cache_key(const char *qemu_binary, char *key, size_t len)
{
    char path[PATH_MAX];
    struct stat st;
    if (qemu_find_binary(qemu_binary, path, sizeof(path)) < 0 || stat(path, &st) < 0)
        return false;
    snprintf(key, len, "%s %lu %lu %lld %lld.%09ld", path, (unsigned long)st.st_dev,
             (unsigned long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
             st.st_mtim.tv_nsec);
    return true;
}

static int cache_lookup(const char *key)
{
    char path[PATH_MAX], line[PATH_MAX + 128];
    if (host_path(path, sizeof(path), HOST_STATE, "/qemu-sandbox.cache") < 0)
        return -1;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    int answer = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            answer = strncmp(line + klen + 1, "yes", 3) == 0;
    fclose(f);
    return answer;
}

static void cache_store(const char *key, bool answer)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_STATE, "/qemu-sandbox.cache") < 0 ||
        host_path(tmp, sizeof(tmp), HOST_STATE, "/.qemu-sandbox.cache.%ld", (long)getpid()) < 0)
        return;
    /* One line per binary: the newest answer replaces the file. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return;
    dprintf(fd, "%s %s\n", key, answer ? "yes" : "no");
    close(fd);
    if (rename(tmp, path) < 0)
        unlink(tmp);
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
    char key[PATH_MAX + 96];
    bool keyed = cache_key(qemu_binary, key, sizeof(key));
    int known = keyed ? cache_lookup(key) : -1;
    if (known >= 0) {
        cached_answer = known == 1;
    } else {
        cached_answer = probe(qemu_binary);
        if (keyed)
            cache_store(key, cached_answer);
    }
    strcpy(cached_binary, qemu_binary);
    return cached_answer;
}
