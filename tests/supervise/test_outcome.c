/* How a run ended (supervisor/outcome.h): every way the supervisor can
 * find QEMU gone, decided without running one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "supervisor/outcome.h"

/* Wait statuses as waitpid() gives them. */
#define EXITED(code) (((code)&0xff) << 8)
#define KILLED_BY(sig) ((sig)&0x7f)

static enum vm_outcome of(struct vm_ending e)
{
    return vm_outcome_of(&e);
}

static void test_guest_powered_off(void **state)
{
    (void)state;
    /* The guest shut down and QEMU exited 0. */
    assert_int_equal(of((struct vm_ending){.guest_shutdown = true, .qemu_status = EXITED(0)}),
                     VM_GUEST_POWEROFF);
    /* QEMU exited 0 by itself, no SHUTDOWN event seen. */
    assert_int_equal(of((struct vm_ending){.qemu_status = EXITED(0)}), VM_GUEST_POWEROFF);
}

static void test_stop_requests(void **state)
{
    (void)state;
    /* The guest honoured ACPI. */
    assert_int_equal(of((struct vm_ending){.stop_requested = true,
                                           .stop_stage = VM_STOP_POWERDOWN,
                                           .guest_shutdown = true,
                                           .qemu_status = EXITED(0)}),
                     VM_STOPPED_ACPI);
    /* It did not: quit ended QEMU. */
    assert_int_equal(of((struct vm_ending){.stop_requested = true,
                                           .stop_stage = VM_STOP_QUIT,
                                           .qemu_status = EXITED(0)}),
                     VM_STOPPED_QUIT);
    /* Quit was sent, but the guest had powered off meanwhile. */
    assert_int_equal(of((struct vm_ending){.stop_requested = true,
                                           .stop_stage = VM_STOP_QUIT,
                                           .guest_shutdown = true,
                                           .qemu_status = EXITED(0)}),
                     VM_STOPPED_ACPI);
    /* Quit did not end it either: SIGKILL, whatever its status says. */
    assert_int_equal(of((struct vm_ending){.stop_requested = true,
                                           .stop_stage = VM_STOP_KILLED,
                                           .qemu_status = KILLED_BY(9)}),
                     VM_STOPPED_KILLED);
}

static void test_failures(void **state)
{
    (void)state;
    /* QEMU exited with an error, or was killed by someone else. */
    assert_int_equal(of((struct vm_ending){.qemu_status = EXITED(1)}), VM_QEMU_FAILED);
    assert_int_equal(of((struct vm_ending){.qemu_status = KILLED_BY(9)}), VM_QEMU_FAILED);
    /* An error exit during an ACPI stop is a failure, not a stop. */
    assert_int_equal(of((struct vm_ending){.stop_requested = true,
                                           .stop_stage = VM_STOP_POWERDOWN,
                                           .qemu_status = EXITED(1)}),
                     VM_QEMU_FAILED);
    /* The supervisor lost QEMU: a failure whatever else it saw. */
    assert_int_equal(of((struct vm_ending){.lost = true,
                                           .stop_requested = true,
                                           .stop_stage = VM_STOP_KILLED,
                                           .qemu_status = EXITED(0)}),
                     VM_QEMU_FAILED);
    /* The TPM died: the run failed, even if the guest then powered off. */
    assert_int_equal(of((struct vm_ending){.tpm_died = true,
                                           .stop_stage = VM_STOP_POWERDOWN,
                                           .guest_shutdown = true,
                                           .qemu_status = EXITED(0)}),
                     VM_QEMU_FAILED);
    /* A stop under way that never got a stop request (the TPM's own stop
     * path sets the stage): a clean exit without a guest shutdown is not
     * the guest's doing. */
    assert_int_equal(
        of((struct vm_ending){.stop_stage = VM_STOP_POWERDOWN, .qemu_status = EXITED(0)}),
        VM_QEMU_FAILED);
}

static void test_descriptions(void **state)
{
    (void)state;
    assert_string_equal(vm_outcome_describe(VM_STOPPED_QUIT), "stopped: QEMU was told to quit");
    assert_string_equal(vm_outcome_describe(VM_GUEST_POWEROFF), "the guest powered off");
    assert_string_equal(vm_outcome_describe((enum vm_outcome)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guest_powered_off),
        cmocka_unit_test(test_stop_requests),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
