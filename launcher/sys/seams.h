/* Test seams: the only way anything outside vmrun can move its roots or
 * inject faults, and only in the test build.
 *
 * The installed `vmrun` links seams_release.c, where every seam is absent:
 * it reads no VMRUN_* variable at all, so a user who keeps their
 * environment through `sudo -E` (or an env_keep / SETENV rule) cannot point
 * root's vmrun at a tree or a journal of their own. The test build
 * (`vmrun-test`, and the test executables) links seams_test.c instead,
 * which reads each seam from the environment variable named there. The
 * names of those variables appear nowhere else in the program. */
#ifndef VMRUN_SEAMS_H
#define VMRUN_SEAMS_H

enum seam {
    SEAM_SYSFS_ROOT,        /* host_root(HOST_SYS) */
    SEAM_PROCFS_ROOT,       /* host_root(HOST_PROC) */
    SEAM_DEV_ROOT,          /* host_root(HOST_DEV) */
    SEAM_RUN_DIR,           /* host_root(HOST_RUN) */
    SEAM_STATE_DIR,         /* host_root(HOST_STATE) */
    SEAM_KILL_AFTER,        /* journal_done() of record N raises SIGKILL */
    SEAM_FAIL_AFTER,        /* journal_done() of record N fails with -EIO */
    SEAM_SYSFS_TIMEOUT_MS,  /* pci_sysfs_write()'s time limit */
    SEAM_HOLD_BEFORE_CONT,  /* seconds the pinned VM stays paused before cont */
    SEAM_NOTIFY_SEND,       /* the program run instead of notify-send */
    SEAM_DESKTOP_DIR,       /* where desktop launchers are written */
    SEAM_KILL_AT,           /* SIGKILL at a named point inside a step (hugepages-claimed, ...) */
    SEAM_PCI_DEAD,          /* PCI addresses whose config space reads 0xffff until
                               vmrun removes them and rescans the bus */
    SEAM_SYSTEMCTL,         /* the program run instead of /usr/bin/systemctl */
    SEAM_KVM_NO_SMM,        /* KVM is taken to lack SMM (a kernel without CONFIG_KVM_SMM) */
    SEAM_KEY_LOG,           /* a file each accepted profile is appended to (sys/keylog.h) */
    SEAM_COUNT
};

/* The seam's value, or NULL when it is not set (always, in the release
 * build). */
const char *seam_value(enum seam s);

/* True in the test build. */
int seams_enabled(void);

#endif
