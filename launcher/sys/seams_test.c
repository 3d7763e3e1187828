/* The test build's seams (seams.h): each read from its environment
 * variable. Linked into vmrun-test and the test executables only. */
#include "sys/seams.h"

#include <stdlib.h>

static const char *const names[SEAM_COUNT] = {
    [SEAM_SYSFS_ROOT] = "VMRUN_SYSFS_ROOT",
    [SEAM_PROCFS_ROOT] = "VMRUN_PROCFS_ROOT",
    [SEAM_DEV_ROOT] = "VMRUN_DEV_ROOT",
    [SEAM_RUN_DIR] = "VMRUN_RUN_DIR",
    [SEAM_STATE_DIR] = "VMRUN_STATE_DIR",
    [SEAM_KILL_AFTER] = "VMRUN_TEST_KILL_AFTER",
    [SEAM_FAIL_AFTER] = "VMRUN_TEST_FAIL_AFTER",
    [SEAM_SYSFS_TIMEOUT_MS] = "VMRUN_TEST_SYSFS_TIMEOUT_MS",
    [SEAM_HOLD_BEFORE_CONT] = "VMRUN_TEST_HOLD_BEFORE_CONT",
    [SEAM_NOTIFY_SEND] = "VMRUN_NOTIFY_SEND",
    [SEAM_DESKTOP_DIR] = "VMRUN_DESKTOP_DIR",
    [SEAM_KILL_AT] = "VMRUN_TEST_KILL_AT",
    [SEAM_PCI_DEAD] = "VMRUN_TEST_PCI_DEAD",
    [SEAM_SYSTEMCTL] = "VMRUN_TEST_SYSTEMCTL",
    [SEAM_KVM_NO_SMM] = "VMRUN_TEST_KVM_NO_SMM",
    [SEAM_KEY_LOG] = "VMRUN_TEST_KEY_LOG",
};

const char *seam_value(enum seam s)
{
    if ((unsigned)s >= SEAM_COUNT || names[s] == NULL)
        return NULL;
    const char *v = getenv(names[s]);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int seams_enabled(void)
{
    return 1;
}
