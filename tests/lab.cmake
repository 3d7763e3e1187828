# Real-kernel tests in the lab guest (tests/lab/README.md): each runs one
# script inside L1 through tests/lab/run-lab.sh. They skip (77) when the lab
# guest is not built, unless VMRUN_LAB=1 says they must run (then they fail).
# L1 is a 2-vCPU TCG guest that wants both cores: one lab test at a time.
#   vmrun_lab_test(NAME SCRIPT [TIMEOUT seconds] [WRITABLE_ROOT] [UEFI]
#                  [CHECKOUT_GUEST] [QEMU_ARGS "args..."])
# WRITABLE_ROOT gives L1 a writable root (run-lab.sh --writable-root): for
# scenarios that put profiles in /etc/vmrun or let vmrun keep state in
# /var/lib/vmrun. UEFI boots L1 through OVMF (run-lab.sh --uefi): the
# firmware's framebuffer on the VGA device. CHECKOUT_GUEST boots the lab
# guest of this checkout (BUILD/guests/lab, the lab_guest fixture) rather
# than /var/cache/vmrun/lab-guest: for scenarios that need what an older
# checkout's guest lacks. QEMU_ARGS: more QEMU arguments for L1
# (VMRUN_LAB_QEMU_ARGS), hardware that scenario needs and others must not see.
#
# The newer kernels. Besides the kernel of this machine's release (Debian
# 12: 6.1), L1 boots the kernels of the Debian suites below (Debian 13's
# 6.12, unstable's 7.x), each built by its own fixture, lab_guest_SUITE,
# into BUILD/guests/lab-SUITE (scripts/build-guest.sh --lab --suite SUITE).
# A scenario listed for a suite runs on that kernel too, as NAME_SUITE with
# the labels "lab" and "lab_SUITE". Each run costs a boot and the scenario's
# time again, so a scenario is listed where a kernel interface it uses
# changed after 6.1 (tests/lab/README.md, "Kernels", says which and what
# differed): the ones that stay the same run on 6.1 alone.
set(VMRUN_LAB_SUITES trixie sid)
set(VMRUN_LAB_ON_trixie lab_vfio lab_handoff_efifb lab_health lab_devices)
set(VMRUN_LAB_ON_sid lab_vfio lab_handoff_efifb lab_health lab_devices)

foreach(suite ${VMRUN_LAB_SUITES})
  add_test(NAME lab_guest_${suite}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/build-guest.sh lab ${suite})
  set_tests_properties(lab_guest_${suite} PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                       LABELS "lab;lab_${suite}" FIXTURES_SETUP lab_guest_${suite} TIMEOUT 900
                       RESOURCE_LOCK guest_build)
endforeach()

function(vmrun_lab_test name script)
  cmake_parse_arguments(T "WRITABLE_ROOT;UEFI;CHECKOUT_GUEST" "TIMEOUT;QEMU_ARGS" "" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 900)
  endif()
  set(opts "")
  if(T_WRITABLE_ROOT)
    list(APPEND opts --writable-root)
  endif()
  if(T_UEFI)
    list(APPEND opts --uefi)
  endif()
  set(env "${VMRUN_TEST_ENV}" "VMRUN_LAB_RUNS=${CMAKE_BINARY_DIR}/lab-runs")
  if(T_QEMU_ARGS)
    list(APPEND env "VMRUN_LAB_QEMU_ARGS=${T_QEMU_ARGS}")
  endif()
  # The script's own limit inside L1 leaves room for L1's boot and power-off.
  math(EXPR inner "${T_TIMEOUT} - 180")
  set(cmd bash ${CMAKE_CURRENT_SOURCE_DIR}/lab/run-lab.sh --timeout ${inner} ${opts}
          ${CMAKE_CURRENT_SOURCE_DIR}/lab/${script})

  add_test(NAME ${name} COMMAND ${cmd})
  set(this_env ${env})
  if(T_CHECKOUT_GUEST)
    list(APPEND this_env "VMRUN_LAB_GUEST=${CMAKE_BINARY_DIR}/guests/lab")
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED lab_guest)
  endif()
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${this_env}" LABELS lab
                       SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT} RUN_SERIAL TRUE)

  foreach(suite ${VMRUN_LAB_SUITES})
    if(NOT name IN_LIST VMRUN_LAB_ON_${suite})
      continue()
    endif()
    add_test(NAME ${name}_${suite} COMMAND ${cmd})
    set_tests_properties(${name}_${suite} PROPERTIES
                         ENVIRONMENT "${env};VMRUN_LAB_GUEST=${CMAKE_BINARY_DIR}/guests/lab-${suite}"
                         LABELS "lab;lab_${suite}" FIXTURES_REQUIRED lab_guest_${suite}
                         SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT} RUN_SERIAL TRUE)
  endforeach()
endfunction()

# The lab guest of this checkout, into BUILD/guests/lab (a no-op when up to
# date), for the scenarios that need what an older checkout's guest lacks.
add_test(NAME lab_guest COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/build-guest.sh lab)
set_tests_properties(lab_guest PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS lab
                     FIXTURES_SETUP lab_guest TIMEOUT 600 RESOURCE_LOCK guest_build)

vmrun_lab_test(lab_smoke smoke.sh)
# Scenarios: vmrun itself on L1's real kernel (each well under a minute).
vmrun_lab_test(lab_vfio vfio.sh TIMEOUT 420 WRITABLE_ROOT)
vmrun_lab_test(lab_numa numa.sh TIMEOUT 420 WRITABLE_ROOT)
vmrun_lab_test(lab_user user.sh TIMEOUT 420 WRITABLE_ROOT)
vmrun_lab_test(lab_rombar rombar.sh TIMEOUT 420 WRITABLE_ROOT)
# cpu.isolate on a real kernel, cgroup v2 and v1 (~60 s).
vmrun_lab_test(lab_isolate isolate.sh TIMEOUT 420 WRITABLE_ROOT)
# Input, USB and PCI keys with devices of L1's own (~40-100 s): the lab guest of
# this checkout (uinput, dummy_hcd) and a two-function PCI test device (no
# ACS: one IOMMU group) on a root port.
vmrun_lab_test(lab_devices devices.sh TIMEOUT 420 WRITABLE_ROOT CHECKOUT_GUEST
  QEMU_ARGS "-device pcie-root-port,id=rp20,chassis=20,slot=20 -device pci-testdev,bus=rp20,addr=00.0,multifunction=on -device pci-testdev,bus=rp20,addr=00.1")
# Host USB devices following usb[] rules while the VM runs (gadgets on
# dummy_hcd plugged in and out; a disk mounted on L1), on the lab guest of
# this checkout (the mass-storage gadget, usb-storage, ext4).
vmrun_lab_test(lab_usb usb.sh TIMEOUT 480 WRITABLE_ROOT CHECKOUT_GUEST)
# The display handoff and device health (each 1-2 minutes: the handoff
# loads a DRM driver and starts three inner VMs; UEFI boots through OVMF),
# on the lab guest of this checkout (bochs and the EFI-stub kernel).
vmrun_lab_test(lab_handoff handoff.sh TIMEOUT 480 WRITABLE_ROOT CHECKOUT_GUEST)
vmrun_lab_test(lab_handoff_efifb handoff_efifb.sh TIMEOUT 480 WRITABLE_ROOT UEFI CHECKOUT_GUEST)
vmrun_lab_test(lab_health health.sh TIMEOUT 480 WRITABLE_ROOT CHECKOUT_GUEST)
# The VM's keyboards and mice (input[]): uinput devices of L1's own unplugged,
# plugged in again, the hotkey, the LEDs, a crash (~80-110 s; the lab guest of
# this checkout, which has uinput).
vmrun_lab_test(lab_input input.sh TIMEOUT 480 WRITABLE_ROOT CHECKOUT_GUEST)
