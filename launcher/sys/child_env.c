/* Fixed environments for vmrun's children (child_env.h). */
#include "sys/child_env.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

bool child_env_is_fixed(void)
{
    return geteuid() == 0;
}

char *const *child_env_plain(void)
{
    static char *const fixed[] = {(char *)"PATH=" CHILD_ENV_PATH, (char *)"LC_ALL=C", NULL};
    return child_env_is_fixed() ? fixed : environ;
}

int child_find_program(const char *name, char *out, size_t len)
{
    if (name == NULL || *name == '\0')
        return -ENOENT;
    struct stat st;
    if (strchr(name, '/') != NULL) {
        if (stat(name, &st) < 0)
            return -errno;
        if (!S_ISREG(st.st_mode) || access(name, X_OK) < 0)
            return -EACCES;
        if ((size_t)snprintf(out, len, "%s", name) >= len)
            return -ENAMETOOLONG;
        return 0;
    }
    const char *path = child_env_is_fixed() ? CHILD_ENV_PATH : getenv("PATH");
    if (path == NULL || *path == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    bool denied = false;
    for (const char *p = path; *p != '\0';) {
        const char *end = strchrnul(p, ':');
        size_t n = (size_t)(end - p);
        char cand[PATH_MAX];
        /* An empty PATH element means the current directory, as for execvp
         * (never in the fixed PATH). */
        int w = n == 0 ? snprintf(cand, sizeof(cand), "./%s", name)
                       : snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, name);
        if (w > 0 && (size_t)w < sizeof(cand) && stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(cand, X_OK) == 0) {
                if ((size_t)snprintf(out, len, "%s", cand) >= len)
                    return -ENAMETOOLONG;
                return 0;
            }
            denied = true;
        }
        p = *end == ':' ? end + 1 : end;
    }
    return denied ? -EACCES : -ENOENT;
}

void child_env_init(struct child_env *e)
{
    e->n = 0;
    e->used = 0;
    e->v[0] = NULL;
    child_env_set(e, "PATH", CHILD_ENV_PATH);
    child_env_set(e, "LC_ALL", "C");
}

void child_env_set(struct child_env *e, const char *name, const char *value)
{
    if (value == NULL || e->n + 1 >= sizeof(e->v) / sizeof(e->v[0]))
        return;
    int w = snprintf(e->buf + e->used, sizeof(e->buf) - e->used, "%s=%s", name, value);
    if (w < 0 || (size_t)w >= sizeof(e->buf) - e->used)
        return;
    e->v[e->n++] = e->buf + e->used;
    e->v[e->n] = NULL;
    e->used += (size_t)w + 1;
}
