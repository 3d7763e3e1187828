# Real-kernel tests in the lab guest (tests/lab/README.md): each runs one
# script inside L1 through tests/lab/run-lab.sh. They skip (77) when the lab
# guest is not built, unless VMRUN_LAB=1 says they must run (then they fail).
# L1 is a 2-vCPU TCG guest that wants both cores: one lab test at a time.
#   vmrun_lab_test(NAME SCRIPT [TIMEOUT seconds] [WRITABLE_ROOT] [UEFI])
# WRITABLE_ROOT gives L1 a writable root (run-lab.sh --writable-root): for
# scenarios that put profiles in /etc/vmrun or let vmrun keep state in
# /var/lib/vmrun. UEFI boots L1 through OVMF (run-lab.sh --uefi): the
# firmware's framebuffer on the VGA device.
function(vmrun_lab_test name script)
  cmake_parse_arguments(T "WRITABLE_ROOT;UEFI" "TIMEOUT" "" ${ARGN})
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
  # The script's own limit inside L1 leaves room for L1's boot and power-off.
  math(EXPR inner "${T_TIMEOUT} - 180")
  add_test(NAME ${name}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/lab/run-lab.sh --timeout ${inner} ${opts}
                   ${CMAKE_CURRENT_SOURCE_DIR}/lab/${script})
  set_tests_properties(${name} PROPERTIES
                       ENVIRONMENT "${VMRUN_TEST_ENV};VMRUN_LAB_RUNS=${CMAKE_BINARY_DIR}/lab-runs"
                       LABELS lab SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT} RUN_SERIAL TRUE)
endfunction()

vmrun_lab_test(lab_smoke smoke.sh)
# Scenarios: vmrun itself on L1's real kernel (each well under a minute).
vmrun_lab_test(lab_vfio vfio.sh TIMEOUT 420 WRITABLE_ROOT)
vmrun_lab_test(lab_numa numa.sh TIMEOUT 420 WRITABLE_ROOT)
vmrun_lab_test(lab_user user.sh TIMEOUT 420 WRITABLE_ROOT)
vmrun_lab_test(lab_rombar rombar.sh TIMEOUT 420 WRITABLE_ROOT)
# cpu.isolate on a real kernel, cgroup v2 and v1 (~60 s).
vmrun_lab_test(lab_isolate isolate.sh TIMEOUT 420 WRITABLE_ROOT)
# The lab guest of this checkout, into BUILD/guests/lab (a no-op when up to
# date), for the scenarios that need what an older checkout's guest lacks.
add_test(NAME lab_guest COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/build-guest.sh lab)
set_tests_properties(lab_guest PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS lab
                     FIXTURES_SETUP lab_guest TIMEOUT 600 RESOURCE_LOCK guest_build)
# Input, USB and PCI keys with devices of L1's own (~40-100 s): the lab guest of
# this checkout (uinput, dummy_hcd; built by the lab_guest fixture) and
# a two-function PCI test device (no ACS: one IOMMU group) on a root port.
vmrun_lab_test(lab_devices devices.sh TIMEOUT 420 WRITABLE_ROOT)
set_property(TEST lab_devices APPEND PROPERTY ENVIRONMENT
  "VMRUN_LAB_GUEST=${CMAKE_BINARY_DIR}/guests/lab"
  "VMRUN_LAB_QEMU_ARGS=-device pcie-root-port,id=rp20,chassis=20,slot=20 -device pci-testdev,bus=rp20,addr=00.0,multifunction=on -device pci-testdev,bus=rp20,addr=00.1")
set_tests_properties(lab_devices PROPERTIES FIXTURES_REQUIRED lab_guest)
# Host USB devices following usb[] rules while the VM runs (gadgets on
# dummy_hcd plugged in and out; a disk mounted on L1), on the lab guest of
# this checkout (the mass-storage gadget, usb-storage, ext4).
vmrun_lab_test(lab_usb usb.sh TIMEOUT 480 WRITABLE_ROOT)
set_property(TEST lab_usb APPEND PROPERTY ENVIRONMENT "VMRUN_LAB_GUEST=${CMAKE_BINARY_DIR}/guests/lab")
set_tests_properties(lab_usb PROPERTIES FIXTURES_REQUIRED lab_guest)
# The display handoff and device health (each 1-2 minutes: the handoff
# loads a DRM driver and starts three inner VMs; UEFI boots through OVMF),
# on the lab guest of this checkout (bochs and the EFI-stub kernel).
vmrun_lab_test(lab_handoff handoff.sh TIMEOUT 480 WRITABLE_ROOT)
vmrun_lab_test(lab_handoff_efifb handoff_efifb.sh TIMEOUT 480 WRITABLE_ROOT UEFI)
vmrun_lab_test(lab_health health.sh TIMEOUT 480 WRITABLE_ROOT)
foreach(t lab_handoff lab_handoff_efifb lab_health)
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "VMRUN_LAB_GUEST=${CMAKE_BINARY_DIR}/guests/lab")
  set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED lab_guest)
endforeach()
# The VM's keyboards and mice (input[]): uinput devices of L1's own unplugged,
# plugged in again, the hotkey, the LEDs, a crash (~80-110 s; the lab guest of
# this checkout, which has uinput).
vmrun_lab_test(lab_input input.sh TIMEOUT 480 WRITABLE_ROOT)
set_property(TEST lab_input APPEND PROPERTY ENVIRONMENT "VMRUN_LAB_GUEST=${CMAKE_BINARY_DIR}/guests/lab")
set_tests_properties(lab_input PROPERTIES FIXTURES_REQUIRED lab_guest)
