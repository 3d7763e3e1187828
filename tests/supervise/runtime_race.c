/* The runtime directory of a VM that is starting or stopping is never seen
 * without a live lock: one process creates and releases a VM's directory
 * in a loop while another probes it as `vmrun status` and `list` do. A
 * single "stale" answer would have let status (as root) recover and remove
 * the directory of a live VM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/runtime.h"

int main(void)
{
    char dir[] = "/tmp/vmrun-race-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return perror("mkdtemp"), 1;
    setenv("VMRUN_RUN_DIR", dir, 1);
    enum { ROUNDS = 3000 };
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < ROUNDS; i++) {
            struct vm_runtime rt;
            struct vmrun_error err = {0};
            if (runtime_acquire("race", &rt, &err) < 0) {
                fprintf(stderr, "acquire %d: %s\n", i, err.msg);
                _exit(1);
            }
            runtime_release(&rt);
        }
        _exit(0);
    }
    long probes = 0, stale = 0, running = 0;
    int status = 0;
    for (;;) {
        pid_t sup;
        enum runtime_state st = runtime_probe("race", &sup);
        probes++;
        stale += st == RUNTIME_STALE;
        running += st == RUNTIME_RUNNING;
        if (waitpid(child, &status, WNOHANG) == child)
            break;
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("%ld probes: %ld running, %ld stale\n", probes, running, stale);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAIL: the acquiring process failed\n");
        return 1;
    }
    if (running == 0) {
        fprintf(stderr, "FAIL: never saw the directory held: the test did not race\n");
        return 1;
    }
    if (stale != 0) {
        fprintf(stderr, "FAIL: a live directory was seen as stale %ld times\n", stale);
        return 1;
    }
    return 0;
}
