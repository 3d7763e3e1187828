/* vmrun desktop install PROFILE | vmrun desktop remove NAME
 *
 * A desktop launcher for one VM, in the invoking user's
 * ~/.local/share/applications/vmrun-NAME.desktop. It starts the VM through
 * pkexec (polkit action org.vmrun.start, scripts/org.vmrun.policy), detached
 * and without a terminal; the supervisor reports failures and the end of the
 * VM with desktop notifications (priv_notify.h).
 *
 * Run through sudo, the file is written by a child that has become the
 * invoking user, so root never creates files in a user's home. The profile
 * is read as `vmrun start` reads it (with the caller's rights through sudo
 * or pkexec), and because pkexec accepts only profiles root controls in
 * /etc/vmrun (trust.h), so does install. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "priv/priv_drop.h"
#include "priv/trust.h"
#include "profile/profile.h"
#include "sys/hostpath.h"
#include "sys/seams.h"

#define DESKTOP_INSTALLED_VMRUN "/usr/bin/vmrun"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vmrun desktop install PROFILE\n"
            "       vmrun desktop remove NAME\n\n"
            "install writes ~/.local/share/applications/vmrun-NAME.desktop for the invoking\n"
            "user (the sudo or pkexec caller); the launcher runs\n"
            "  pkexec vmrun start --detach PROFILE\n"
            "and failures are reported as desktop notifications. The profile must be one root\n"
            "controls (e.g. /etc/vmrun/NAME.json), as pkexec requires.\n");
}

/* A name that is safe in a file name and an Exec line unquoted. */
static bool valid_name(const char *s)
{
    if (*s == '\0' || *s == '.' || strlen(s) > PROFILE_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

/* One Exec argument, quoted as the desktop entry specification asks. */
static int exec_quote(char *out, size_t len, const char *arg)
{
    size_t o = 0;
    bool plain = true;
    for (const char *c = arg; *c; c++)
        if (strchr(" \t\n\"'\\><~|&;$*?#()`%=", *c) != NULL)
            plain = false;
    if (plain)
        return snprintf(out, len, "%s", arg) < (int)len ? 0 : -ENAMETOOLONG;
    if (strchr(arg, '\n') != NULL)
        return -EINVAL;
    if (o + 1 >= len)
        return -ENAMETOOLONG;
    out[o++] = '"';
    for (const char *c = arg; *c; c++) {
        if (o + 4 >= len)
            return -ENAMETOOLONG;
        if (*c == '"' || *c == '`' || *c == '$' || *c == '\\')
            out[o++] = '\\';
        if (*c == '%')
            out[o++] = '%';
        out[o++] = *c;
    }
    out[o++] = '"';
    out[o] = '\0';
    return 0;
}

/* The applications directory of the user the file is for. */
static int apps_dir(const struct priv_target *t, char *out, size_t len)
{
    const char *env = seam_value(SEAM_DESKTOP_DIR);
    if (env != NULL && env[0] == '/')
        return snprintf(out, len, "%s", env) < (int)len ? 0 : -ENAMETOOLONG;
    const char *xdg = getenv("XDG_DATA_HOME");
    if (!t->change && xdg != NULL && xdg[0] == '/')
        return snprintf(out, len, "%s/applications", xdg) < (int)len ? 0 : -ENAMETOOLONG;
    struct passwd *pw = getpwuid(t->uid);
    const char *home = pw != NULL ? pw->pw_dir : getenv("HOME");
    if (home == NULL || home[0] != '/')
        return -ENOENT;
    return snprintf(out, len, "%s/.local/share/applications", home) < (int)len ? 0 : -ENAMETOOLONG;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = c;
        if (c == '\0')
            return 0;
    }
}

enum desktop_action { DESKTOP_WRITE, DESKTOP_REMOVE };

/* In a child that is the target user: write (atomically) or remove. */
static int as_user(const struct priv_target *t, enum desktop_action action, const char *dir,
                   const char *file, const char *content, char *msg, size_t mlen)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        close(pfd[0]);
        struct vmrun_error err = {0};
        char out[PATH_MAX + 512] = "";
        int code = 0;
        if (priv_drop(t, &err) < 0) {
            snprintf(out, sizeof(out), "%s", err.msg);
            code = 1;
        } else if (action == DESKTOP_REMOVE) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", dir, file);
            if (unlink(path) < 0) {
                snprintf(out, sizeof(out), "remove %s: %s", path, strerror(errno));
                code = errno == ENOENT ? 2 : 1;
            }
        } else {
            char path[PATH_MAX], tmp[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", dir, file);
            snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, file);
            int r = mkdir_p(dir);
            int fd =
                r < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
            size_t n = strlen(content);
            if (r < 0 || fd < 0 || write(fd, content, n) != (ssize_t)n || fsync(fd) < 0 ||
                close(fd) < 0 || rename(tmp, path) < 0) {
                snprintf(out, sizeof(out), "write %s: %s", path, strerror(r < 0 ? -r : errno));
                unlink(tmp);
                code = 1;
            }
        }
        if (out[0] != '\0' && write(pfd[1], out, strlen(out)) < 0)
            code = 1;
        _exit(code);
    }
    close(pfd[1]);
    ssize_t n = read(pfd[0], msg, mlen - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status))
        return -EIO;
    return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) == 2 ? -ENOENT : -EIO;
}

static int desktop_install(const char *arg)
{
    /* The profile is read as `vmrun start` reads it: through sudo or
     * pkexec with the caller's own rights and only from /etc/vmrun, so
     * nothing of a file they could not read reaches their launcher. */
    struct vm_profile p;
    char path[PATH_MAX];
    int r = cli_load_profile(arg, false, &p, path, sizeof(path));
    if (r != 0)
        return r;
    char name[PROFILE_NAME_MAX + 1], desc[256] = "";
    snprintf(name, sizeof(name), "%s", p.name);
    if (p.description != NULL)
        snprintf(desc, sizeof(desc), "%s", p.description);
    profile_free(&p);
    if (!valid_name(name)) {
        fprintf(stderr,
                "vmrun desktop: %s: name '%s' must be letters, digits, '-', '_' or '.' for a "
                "launcher\n",
                path, name);
        return VMRUN_EXIT_USAGE;
    }
    /* The launcher goes through pkexec, which accepts only profiles in
     * /etc/vmrun that root controls: refuse now rather than leave a
     * shortcut that always fails. */
    struct vmrun_error err = {0};
    if (trust_check_delegated(path, &err) < 0) {
        fprintf(stderr,
                "vmrun desktop: refusing %s: the launcher starts it through pkexec, which "
                "accepts only profiles root controls in %s, but %s. Put it in %s/%s.json "
                "(owned by root, mode 0644).\n",
                path, TRUST_PROFILE_DIR, err.msg, TRUST_PROFILE_DIR, name);
        return VMRUN_EXIT_USAGE;
    }

    char exe[PATH_MAX], self[PATH_MAX];
    ssize_t n = -1;
    if (host_path(self, sizeof(self), HOST_PROC, "/self/exe") == 0)
        n = readlink(self, exe, sizeof(exe) - 1);
    if (n <= 0)
        snprintf(exe, sizeof(exe), "%s", DESKTOP_INSTALLED_VMRUN);
    else
        exe[n] = '\0';
    char qexe[PATH_MAX * 2], qpath[PATH_MAX * 2];
    if (exec_quote(qexe, sizeof(qexe), exe) < 0 || exec_quote(qpath, sizeof(qpath), path) < 0) {
        fprintf(stderr, "vmrun desktop: %s or %s cannot be written in a launcher\n", exe, path);
        return VMRUN_EXIT_USAGE;
    }
    for (char *c = desc; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';

    struct priv_target t;
    if (priv_resolve_target(NULL, &t, &err) < 0) {
        fprintf(stderr, "vmrun desktop: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    char dir[PATH_MAX], file[PROFILE_NAME_MAX + 32], msg[PATH_MAX + 512];
    snprintf(file, sizeof(file), "vmrun-%s.desktop", name);
    if (apps_dir(&t, dir, sizeof(dir)) < 0) {
        fprintf(stderr, "vmrun desktop: no home directory for %s\n", t.user);
        priv_target_free(&t);
        return VMRUN_EXIT_FAILURE;
    }
    char content[PATH_MAX * 5 + 1024];
    snprintf(content, sizeof(content),
             "[Desktop Entry]\n"
             "Type=Application\n"
             "Version=1.0\n"
             "Name=%s (VM)\n"
             "Comment=%s\n"
             "Exec=pkexec %s start --detach %s\n"
             "Icon=computer\n"
             "Terminal=false\n"
             "Categories=System;Emulator;\n"
             "Keywords=vm;qemu;vmrun;\n",
             name, desc[0] ? desc : "Start this virtual machine with vmrun", qexe, qpath);
    r = as_user(&t, DESKTOP_WRITE, dir, file, content, msg, sizeof(msg));
    priv_target_free(&t);
    if (r < 0) {
        fprintf(stderr, "vmrun desktop: %s\n", msg[0] ? msg : strerror(-r));
        return VMRUN_EXIT_FAILURE;
    }
    printf("installed %s/%s: starts %s through pkexec\n", dir, file, path);
    return VMRUN_EXIT_OK;
}

static int desktop_remove(const char *name)
{
    if (!valid_name(name)) {
        fprintf(stderr, "vmrun desktop: '%s' is not a VM name\n", name);
        return VMRUN_EXIT_USAGE;
    }
    struct vmrun_error err = {0};
    struct priv_target t;
    if (priv_resolve_target(NULL, &t, &err) < 0) {
        fprintf(stderr, "vmrun desktop: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    char dir[PATH_MAX], file[PROFILE_NAME_MAX + 32], msg[PATH_MAX + 512];
    snprintf(file, sizeof(file), "vmrun-%s.desktop", name);
    int r = apps_dir(&t, dir, sizeof(dir));
    if (r == 0)
        r = as_user(&t, DESKTOP_REMOVE, dir, file, NULL, msg, sizeof(msg));
    priv_target_free(&t);
    if (r == -ENOENT) {
        fprintf(stderr, "vmrun desktop: no launcher %s/%s\n", dir, file);
        return VMRUN_EXIT_USAGE;
    }
    if (r < 0) {
        fprintf(stderr, "vmrun desktop: %s\n", msg[0] ? msg : strerror(-r));
        return VMRUN_EXIT_FAILURE;
    }
    printf("removed %s/%s\n", dir, file);
    return VMRUN_EXIT_OK;
}

int cli_desktop(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VMRUN_EXIT_OK;
    }
    if (argc != 3) {
        usage(stderr);
        return VMRUN_EXIT_USAGE;
    }
    if (strcmp(argv[1], "install") == 0)
        return desktop_install(argv[2]);
    if (strcmp(argv[1], "remove") == 0)
        return desktop_remove(argv[2]);
    fprintf(stderr, "vmrun desktop: unknown action '%s'\n", argv[1]);
    usage(stderr);
    return VMRUN_EXIT_USAGE;
}
