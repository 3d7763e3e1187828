#include "profile/profile_load.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"

static bool is_path_arg(const char *arg)
{
    size_t n = strlen(arg);
    return strchr(arg, '/') != NULL || (n >= 5 && strcmp(arg + n - 5, ".json") == 0);
}

/* Is dir inside (or equal to) home? */
static bool under(const char *dir, const char *home)
{
    size_t n = strlen(home);
    while (n > 1 && home[n - 1] == '/')
        n--;
    return n > 0 && strncmp(dir, home, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

/* The invoking user's configuration directory ("" when there is none). */
static void user_config_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg != NULL && xdg[0] != '/')
        xdg = NULL; /* the XDG spec: relative values are invalid, ignore them */
    buf[0] = '\0';

    /* Through sudo or pkexec: the user who asked, not root. */
    struct passwd *pw = NULL;
    if (geteuid() == 0) {
        const char *sudo_user = getenv("SUDO_USER");
        const char *pkexec_uid = getenv("PKEXEC_UID");
        if (sudo_user != NULL && sudo_user[0] != '\0' && strcmp(sudo_user, "root") != 0) {
            pw = getpwnam(sudo_user);
        } else if (pkexec_uid != NULL && pkexec_uid[0] != '\0') {
            char *end;
            errno = 0;
            unsigned long uid = strtoul(pkexec_uid, &end, 10);
            if (errno == 0 && *end == '\0' && uid != 0)
                pw = getpwuid((uid_t)uid);
        }
    }
    if (pw != NULL) {
        struct passwd *root = getpwuid(0);
        bool roots = xdg != NULL && root != NULL && under(xdg, root->pw_dir);
        if (xdg != NULL && !roots)
            snprintf(buf, len, "%s/vmrun", xdg);
        else
            snprintf(buf, len, "%s/.config/vmrun", pw->pw_dir);
        return;
    }
    if (xdg != NULL) {
        snprintf(buf, len, "%s/vmrun", xdg);
        return;
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] != '/') {
        struct passwd *me = getpwuid(getuid());
        home = me != NULL ? me->pw_dir : NULL;
    }
    if (home != NULL)
        snprintf(buf, len, "%s/.config/vmrun", home);
}

static bool exists_by_access(const char *path, void *opaque)
{
    (void)opaque;
    return access(path, F_OK) == 0;
}

int profile_resolve(const char *arg, char *path, size_t len, struct vmrun_error *err)
{
    return profile_resolve_with(arg, exists_by_access, NULL, path, len, err);
}

int profile_resolve_with(const char *arg, profile_exists_fn exists, void *opaque, char *path,
                         size_t len, struct vmrun_error *err)
{
    if (arg == NULL || arg[0] == '\0')
        return vmrun_failx(err, EINVAL, "no profile given");
    if (is_path_arg(arg)) {
        if ((size_t)snprintf(path, len, "%s", arg) >= len)
            return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", arg);
        return 0;
    }
    char dir[PATH_MAX];
    user_config_dir(dir, sizeof(dir));
    char tried[2][PATH_MAX + 64];
    size_t n_tried = 0;
    const char *dirs[] = {dir, VMRUN_SYSCONF_PROFILE_DIR};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        if (dirs[i][0] == '\0')
            continue;
        char candidate[PATH_MAX + 64];
        if ((size_t)snprintf(candidate, sizeof(candidate), "%s/%s.json", dirs[i], arg) >=
            sizeof(candidate))
            return vmrun_failx(err, ENAMETOOLONG, "%s: the profile name is too long", arg);
        if (exists(candidate, opaque)) {
            if ((size_t)snprintf(path, len, "%s", candidate) >= len)
                return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", candidate);
            return 0;
        }
        snprintf(tried[n_tried++], sizeof(tried[0]), "%s", candidate);
    }
    if (n_tried == 2)
        return vmrun_failx(err, ENOENT, "no profile \"%s\": neither %s nor %s exists", arg,
                           tried[0], tried[1]);
    return vmrun_failx(err, ENOENT, "no profile \"%s\": %s does not exist", arg, tried[0]);
}

static int absolutise(char **field, const char *dir, struct vmrun_error *err)
{
    if (*field == NULL || (*field)[0] == '/' || (*field)[0] == '\0')
        return 0;
    const char *rel = *field;
    while (rel[0] == '.' && rel[1] == '/') {
        rel += 2;
        while (*rel == '/')
            rel++;
    }
    char *abs;
    if (asprintf(&abs, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", rel) < 0)
        return vmrun_failx(err, ENOMEM, "out of memory");
    if (strlen(abs) >= PATH_MAX) {
        free(abs);
        return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", *field);
    }
    free(*field);
    *field = abs;
    return 0;
}

int profile_resolve_paths(struct vm_profile *p, const char *dir, struct vmrun_error *err)
{
    char **fields[] = {&p->firmware.code, &p->firmware.vars_template, &p->boot.kernel,
                       &p->boot.initrd};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        int r = absolutise(fields[i], dir, err);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < p->n_disks; i++) {
        int r = absolutise(&p->disks[i].path, dir, err);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < p->n_pci; i++) {
        int r = absolutise(&p->pci[i].rom, dir, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The absolute directory of path, as named (symlinks are not followed:
 * relative paths are relative to where the user put the profile). */
static int profile_dir(const char *path, char *buf, size_t len, struct vmrun_error *err)
{
    const char *slash = strrchr(path, '/');
    char cwd[PATH_MAX];
    if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
        return vmrun_fail(err, errno, "cannot tell the current directory");
    int n;
    if (slash == NULL)
        n = snprintf(buf, len, "%s", cwd);
    else if (slash == path)
        n = snprintf(buf, len, "/");
    else if (path[0] == '/')
        n = snprintf(buf, len, "%.*s", (int)(slash - path), path);
    else
        n = snprintf(buf, len, "%s/%.*s", cwd, (int)(slash - path), path);
    if (n < 0 || (size_t)n >= len)
        return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", path);
    return 0;
}

int profile_read_fd(int fd, const char *path, char **out, size_t *out_len,
                    struct vmrun_error *err)
{
    *out = NULL;
    *out_len = 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "cannot stat the profile %s", path);
    if (!S_ISREG(st.st_mode))
        return vmrun_failx(err, EINVAL, "the profile %s is not a regular file", path);
    if (st.st_size > PROFILE_MAX_BYTES)
        return vmrun_failx(err, EFBIG, "the profile %s is %lld bytes; profiles are at most %d",
                           path, (long long)st.st_size, PROFILE_MAX_BYTES);

    /* Read one byte past the limit: the file may have grown since fstat. */
    size_t cap = (size_t)st.st_size + 1;
    if (cap > PROFILE_MAX_BYTES + 1)
        cap = PROFILE_MAX_BYTES + 1;
    cleanup_free char *buf = malloc(cap);
    if (buf == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory reading %s", path);
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            if (cap > PROFILE_MAX_BYTES)
                return vmrun_failx(err, EFBIG, "the profile %s is larger than %d bytes", path,
                                   PROFILE_MAX_BYTES);
            size_t ncap = cap * 2 > PROFILE_MAX_BYTES + 1 ? PROFILE_MAX_BYTES + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL)
                return vmrun_failx(err, ENOMEM, "out of memory reading %s", path);
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vmrun_fail(err, errno, "cannot read the profile %s", path);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = steal_pointer(&buf);
    *out_len = len;
    return 0;
}

int profile_load_bytes(const char *path, const char *buf, size_t len, struct vm_profile *out,
                       struct diag_list *diags, struct vmrun_error *err)
{
    int r = profile_parse(path, buf, len, out, diags);
    if (r < 0) {
        vmrun_failx(err, EINVAL, "%s: the profile is not valid", path);
        return r;
    }
    char dir[PATH_MAX];
    r = profile_dir(path, dir, sizeof(dir), err);
    if (r == 0)
        r = profile_resolve_paths(out, dir, err);
    if (r < 0) {
        profile_free(out);
        return r;
    }
    return 0;
}

int profile_load(const char *arg, struct vm_profile *out, struct diag_list *diags,
                 struct vmrun_error *err)
{
    memset(out, 0, sizeof(*out));
    char path[PATH_MAX];
    int r = profile_resolve(arg, path, sizeof(path), err);
    if (r < 0)
        return r;

    /* O_NONBLOCK: a FIFO put in a profile's place must not hang vmrun
     * before the regular-file check refuses it. */
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return vmrun_fail(err, errno, "cannot open the profile %s", path);
    cleanup_free char *buf = NULL;
    size_t len = 0;
    if ((r = profile_read_fd(fd, path, &buf, &len, err)) < 0)
        return r;
    return profile_load_bytes(path, buf, len, out, diags, err);
}
