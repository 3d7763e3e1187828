#!/usr/bin/python3
"""libvirt_compare.py XML...: `vmrun import` then `vmrun print-cmd` gives the
same machine as libvirt's own `virsh domxml-to-native qemu-argv` for the same
domain XML.

libvirt runs here, privately: libvirtd (Debian 12's, 9.0) as root in its own
mount and network namespaces (unshare), with /etc/libvirt, /run, /var/lib,
/var/cache and /var/log replaced by directories of this test, a passwd and
group that name the libvirt-qemu user its QEMU driver insists on, and two
private hugetlbfs mounts (2M and 1G pages, none reserved) for the domains that
ask for hugepages. No network, no system service and no file of the host is
touched; the daemon is stopped by its pid.

Both argvs are normalised into facts and compared: the vfio-pci host
addresses with their boot index and ROM options, memory size and the backend's
page size, the SMP topology, CPU model, features and Hyper-V flags, the
SMBIOS strings and UUID, disks (file, format, cache, aio, discard, read-only,
kind of device, boot index, serial), NIC models and MACs, evdev inputs (vmrun's from its
profile: its QEMU reads the virtual devices vmrun makes) and
shared memory. What vmrun reports as not carried over must be absent from its
side and present in its notes (a note naming the element); anything else
differing fails. Pinning never appears in libvirt's argv (libvirt applies it
at run time), so the profile's pinning is compared with the XML's <cputune>.

libvirt 9.0 needs a few changes to XMLs written for newer libvirt or other
hosts; they are made on libvirt's copy only and touch no compared fact:
machine types newer than QEMU 7.2's become pc-q35-7.2 (or i440fx), PCI
hostdevs get <driver name='vfio'/> (this host has no IOMMU), USB hostdevs
given by vendor/product are removed (libvirt looks them up on the host; they
are compared with the XML instead), and elements this libvirt does not know
or cannot set up here (an iTCO watchdog, a host TPM, host SMBIOS, pipewire
audio, SPICE channels without SPICE) are removed.

Exit 0 when every XML matches, 1 otherwise, 77 when this machine cannot run
libvirt (not root, or libvirtd missing): scripts/test.sh fails on that skip,
as on any skip tests/README.md does not list.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from qemu_opts import split_opts  # noqa: E402

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
VMRUN = os.environ.get("VMRUN_RELEASE_BIN", "vmrun")


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


# ---- libvirt's copy of the XML ------------------------------------------------

_machines = None


def qemu_machines():
    """The machine types this QEMU has (`-machine help`)."""
    global _machines
    if _machines is None:
        out = subprocess.run(["qemu-system-x86_64", "-machine", "help"], capture_output=True,
                             text=True).stdout
        _machines = {l.split()[0] for l in out.splitlines()[1:] if l.strip()}
    return _machines


def adapt(text):
    ET.register_namespace("qemu", QEMU_NS)
    root = ET.fromstring(text)
    os_ = root.find("os")
    t = os_.find("type") if os_ is not None else None
    if t is not None:
        m = re.match(r"pc-(q35|i440fx)-(\d+)\.(\d+)$", t.get("machine", ""))
        if m and (int(m.group(2)), int(m.group(3))) > (7, 2):
            t.set("machine", "pc-%s-7.2" % m.group(1))
        # QEMU 11 no longer has the machine types of six years before; the
        # reference gets the family's current one (the machine type is not
        # compared).
        if m and t.get("machine") not in qemu_machines():
            t.set("machine", "q35" if m.group(1) == "q35" else "pc")
    if os_ is not None:
        sm = os_.find("smbios")
        if sm is not None and sm.get("mode") == "host":
            os_.remove(sm)
        ld = os_.find("loader")
        if os_.get("firmware") and ld is not None and (ld.text or "").strip():
            del os_.attrib["firmware"]
            fw = os_.find("firmware")
            if fw is not None:
                os_.remove(fw)
    u = root.find("uuid")
    if u is not None and not uuid_ok(u.text or ""):
        root.remove(u)
    # <hugepages/> means the host's default size, 2M on x86; said outright,
    # since this libvirt picks its first matching mount otherwise.
    hp = root.find("memoryBacking/hugepages")
    if hp is not None and hp.find("page") is None:
        ET.SubElement(hp, "page", {"size": "2048", "unit": "KiB"})
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("check"):
        cpu.set("check", "none")
    # libvirt 12 refuses the Hyper-V stimer without synic, which QEMU needs
    # for it; the import leaves such a stimer out (with a note), and so does
    # the reference.
    hv = root.find("features/hyperv")
    if hv is not None:
        on = {e.tag for e in hv if e.get("state") == "on"}
        if "stimer" in on and "synic" not in on:
            hv.remove(hv.find("stimer"))
    # libvirt 10 and later give the memory's prealloc threads the NUMA nodes
    # of the emulator's (else the vCPUs') CPUs, asking this host for each:
    # pinning to CPUs it does not have (not on QEMU's command line) goes.
    ct = root.find("cputune")
    if ct is not None:
        for pin in [p for tag in ("emulatorpin", "vcpupin", "iothreadpin")
                    for p in ct.findall(tag)]:
            cpus = [int(c) for c in re.findall(r"\d+", pin.get("cpuset", ""))]
            if any(c >= os.cpu_count() for c in cpus):
                ct.remove(pin)
    vcpu = root.find("vcpu")
    if vcpu is not None and any(int(c) >= os.cpu_count()
                                for c in re.findall(r"\d+", vcpu.get("cpuset", ""))):
        del vcpu.attrib["cpuset"]
    dev = root.find("devices")
    if dev is None:
        return ET.tostring(root, encoding="unicode")
    for h in list(dev.findall("hostdev")):
        if h.get("type") == "pci":
            d = h.find("driver")
            if d is None:
                d = ET.SubElement(h, "driver")
            d.set("name", "vfio")
        elif h.get("type") == "usb" and h.find("source/vendor") is not None:
            dev.remove(h)
    for w in list(dev.findall("watchdog")):
        if w.get("model") == "itco":
            dev.remove(w)
    # virtiofs shares (which the import does not carry over): libvirt 11
    # refuses them without a virtiofsd on the host.
    for fs in list(dev.findall("filesystem")):
        d = fs.find("driver")
        if d is not None and d.get("type") == "virtiofs":
            dev.remove(fs)
    for i in dev.findall("interface"):
        m = i.find("mac")
        if m is not None and not mac_ok(m.get("address", "")):
            i.remove(m)
    spice = any(g.get("type") == "spice" for g in dev.findall("graphics"))
    for a in dev.findall("audio"):
        if a.get("type") == "pipewire" or (a.get("type") == "spice" and not spice):
            a.set("type", "none")
            for c in list(a):
                a.remove(c)
            for k in list(a.attrib):
                if k not in ("id", "type"):
                    del a.attrib[k]
    if not spice:
        for tag in ("channel", "redirdev"):
            for c in list(dev.findall(tag)):
                if c.get("type") == "spicevmc":
                    dev.remove(c)
    for t in list(dev.findall("tpm")):
        b = t.find("backend")
        if b is not None and b.get("type") == "passthrough":
            dev.remove(t)
    e = dev.find("emulator")
    if e is not None:
        e.text = "/usr/bin/qemu-system-x86_64"
    return ET.tostring(root, encoding="unicode")


def uuid_ok(s):
    return re.match(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                    r"[0-9a-fA-F]{12}$", s.strip()) is not None


def mac_ok(s):
    return re.match(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$", s) is not None


# ---- argv to facts -------------------------------------------------------------

def props(value, first_key):
    """A -device/-object/-drive value as a dict, from JSON or key=value."""
    if value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return json.loads(value.replace("'", '"'))
    out = {}
    for i, p in enumerate(split_opts(value)):
        if "=" in p:
            k, v = p.split("=", 1)
            out[k] = v
        elif i == 0 and first_key:
            out[first_key] = p
        else:
            out[p] = "on"
    return out


def truthy(v):
    return v is True or v in ("on", "yes", "true", 1, "1")


def size_bytes(v):
    if isinstance(v, int):
        return v
    m = re.match(r"^(\d+)([kKMGT]?)$", str(v))
    mul = {"": 1, "k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(m.group(1)) * mul[m.group(2)]


def options(argv):
    """[(option, value)] in order; flags get None."""
    out, i = [], 1
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and i + 1 < len(argv) and not argv[i + 1].startswith("-") \
                and a not in ("-S", "-nodefaults", "-no-user-config", "-no-hpet",
                              "-no-shutdown", "-enable-kvm"):
            out.append((a, argv[i + 1]))
            i += 2
        else:
            out.append((a, None))
            i += 1
    return out


def cache_mode(storage, device):
    c = storage.get("cache")
    wc = device.get("write-cache")
    if device.get("driver") == "scsi-block" and wc is None:
        wc = "on"  # the guest drives the drive's own write cache
    if c is None and wc is None:
        return "writeback"
    direct = bool(c and c.get("direct"))
    noflush = bool(c and c.get("no-flush"))
    if noflush:
        return "unsafe"
    if direct:
        return "none" if wc == "on" else "directsync"
    return "writeback" if wc == "on" else "writethrough"


# libvirt's SCSI LUN (scsi-block) is a disk of the same device on the same
# bus to vmrun, which has no SCSI passthrough (its import warns).
DISK_DEVICES = {"virtio-blk-pci": "virtio", "scsi-hd": "scsi", "ide-hd": "sata",
                "ide-cd": "sata-cd", "scsi-cd": "scsi-cd", "nvme": "nvme", "scsi-block": "scsi"}
NIC_DEVICES = {"virtio-net-pci", "e1000e", "e1000", "rtl8139", "e1000-82545em", "vmxnet3"}


def facts(argv, hugepage=None):
    f = {"vfio": [], "disks": [], "nics": [], "evdev": [], "shmem": [], "smbios": {},
         "uuid": None, "cpu_model": None, "cpu_flags": {}, "hv": {}, "smp": None,
         "mem": None, "page": None, "cpu_pm": False, "tpm": [], "usb": []}
    blockdev, drives = {}, {}
    objects = {}
    for opt, val in options(argv):
        if opt == "-m":
            m = re.match(r"^(?:size=)?(\d+)([MGk]?)", val)
            f["mem"] = int(m.group(1)) * {"": 1, "M": 1, "G": 1024, "k": 1}[m.group(2)] // \
                (1024 if m.group(2) == "k" else 1)
        elif opt == "-smp":
            p = props(val, "cpus")
            f["smp"] = tuple(int(p.get(k, 1)) for k in ("cpus", "sockets", "cores", "threads"))
        elif opt == "-cpu":
            parts = split_opts(val)
            f["cpu_model"] = parts[0]
            for p in parts[1:]:
                k, _, v = p.partition("=")
                v = v or "on"
                if k.startswith("hv-") or k.startswith("hv_"):
                    k = "hv-" + k[3:].replace("_", "-")
                    if v != "off":
                        f["hv"][k] = v
                else:
                    f["cpu_flags"][k.replace("_", "-")] = v
        elif opt == "-overcommit":
            f["cpu_pm"] |= "cpu-pm=on" in val
        elif opt == "-uuid":
            f["uuid"] = val.lower()
        elif opt == "-smbios":
            p = props(val, None)
            t = p.pop("type")
            p.pop("uuid", None)  # the system UUID is -uuid's
            f["smbios"][t] = p
        elif opt == "-mem-path":
            f["page"] = hugepage if hugepage else ("1G" if "/hp1G" in val else "2M")
        elif opt == "-blockdev":
            p = props(val, None)
            blockdev[p["node-name"]] = p
        elif opt == "-drive":
            p = props(val, None)
            if p.get("if") in ("none", None) and "id" in p:
                drives[p["id"]] = p
        elif opt == "-object":
            p = props(val, "qom-type")
            objects[p.get("id")] = p
            if p.get("qom-type") == "input-linux":
                f["evdev"].append((p["evdev"], p.get("grab-toggle")))
        elif opt == "-device":
            p = props(val, "driver")
            d = p.get("driver")
            if d == "vfio-pci":
                host = p["host"]
                if len(host) == 7:
                    host = "0000:" + host
                f["vfio"].append((host, p.get("bootindex") and int(p["bootindex"]),
                                  str(p.get("rombar", "1")) in ("0", "off", "false", "False"),
                                  p.get("romfile")))
            elif d in DISK_DEVICES:
                f["disks"].append(("device", p))
            elif d in NIC_DEVICES:
                f["nics"].append((d, (p.get("mac") or "").lower() or None))
            elif d == "ivshmem-plain":
                f["shmem"].append(p.get("memdev"))
            elif d in ("tpm-crb", "tpm-tis"):
                f["tpm"].append(d)
            elif d == "usb-host":
                if "vendorid" in p:
                    f["usb"].append((int(str(p["vendorid"]), 0), int(str(p["productid"]), 0)))
    # Disks: the device, its format node (libvirt) or drive (vmrun).
    disks = []
    for _, p in f["disks"]:
        kind = DISK_DEVICES[p["driver"]]
        boot = p.get("bootindex") and int(p["bootindex"])
        serial = p.get("serial")
        node = p.get("drive")
        if node in blockdev and "filename" in blockdev[node]:
            # A raw image straight on its storage node: libvirt 11 and
            # later leave out the raw format node.
            st = blockdev[node]
            d = (st.get("filename"), "raw", cache_mode(st, p), st.get("aio"),
                 st.get("discard"), bool(st.get("read-only")), kind, boot, serial)
        elif node in blockdev:
            fmt = blockdev[node]
            st = blockdev.get(fmt.get("file"), {})
            d = (st.get("filename"), fmt.get("driver"), cache_mode(st, p), st.get("aio"),
                 fmt.get("discard"), bool(fmt.get("read-only")), kind, boot, serial)
        else:
            dr = drives.get(node, {})
            d = (dr.get("file"), dr.get("format"), dr.get("cache", "writeback"), dr.get("aio"),
                 dr.get("discard"), dr.get("readonly") == "on", kind, boot, serial)
        disks.append(d)
    f["disks"] = sorted(disks, key=str)
    for i, memdev in enumerate(f["shmem"]):
        o = objects.get(memdev, {})
        path = o.get("mem-path", "")
        # libvirt's /dev/shm file and vmrun's in the VM's user directory
        # (/run/vmrun/.user/NAME/looking-glass) are the same kind of thing.
        own = path.startswith("/dev/shm/") or "/.user/" in path
        f["shmem"][i] = (size_bytes(o.get("size", 0)), None if own else path)
    for o in objects.values():
        # libvirt 12 with a <numatune> names the guest's memory ram-node0.
        ram = o.get("id") in ("pc.ram", "mem") or str(o.get("id")).startswith("ram-node")
        if ram and o.get("qom-type") == "memory-backend-file":
            path = o.get("mem-path", "")
            f["page"] = hugepage if hugepage else ("1G" if "/hp1G" in path else "2M")
        elif o.get("id") == "pc.ram" and truthy(o.get("hugetlb")):
            f["page"] = "1G" if int(o.get("hugetlbsize", 0)) == 1 << 30 else "2M"
    f["vfio"].sort()
    f["nics"].sort(key=str)
    f["evdev"].sort(key=str)
    f["usb"].sort()
    return f


# ---- the private libvirtd --------------------------------------------------------

START = r"""
set -e
T=$1
mount -t tmpfs tmpfs /run
mkdir -p /run/libvirt
for d in /var/lib /var/cache /var/log; do mount -t tmpfs tmpfs $d; done
mount --bind $T/etc /etc/libvirt
cp /etc/passwd $T/passwd
cp /etc/group $T/group
grep -q '^libvirt-qemu:' $T/passwd || echo 'libvirt-qemu:x:64055:64055::/nonexistent:/usr/sbin/nologin' >> $T/passwd
grep -q '^libvirt-qemu:' $T/group || echo 'libvirt-qemu:x:64055:' >> $T/group
mount --bind $T/passwd /etc/passwd
mount --bind $T/group /etc/group
mount -t hugetlbfs -o pagesize=2M none $T/hp2M
mount -t hugetlbfs -o pagesize=1G none $T/hp1G
# libvirt 12 and later ask the host for an IOMMU (a group in
# /sys/kernel/iommu_groups) and for /dev/vfio/vfio before they write a VFIO
# device's options; a machine without either gets both, in this namespace
# only: a group directory, and a copy of /dev (its entries bound in) with
# vfio/vfio added.
if [ -d /sys/kernel/iommu_groups ] && [ -z "$(ls /sys/kernel/iommu_groups)" ]; then
    mkdir -p $T/iommu_groups/0
    mount --bind $T/iommu_groups /sys/kernel/iommu_groups
fi
if [ ! -e /dev/vfio/vfio ]; then
    mkdir $T/dev
    mount -t tmpfs -o mode=0755 tmpfs $T/dev
    for e in /dev/* /dev/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        n=$T/dev/${e#/dev/}
        if [ -L "$e" ]; then
            cp -P "$e" "$n"
        elif [ -d "$e" ]; then
            mkdir "$n" && mount --rbind "$e" "$n"
        else
            : >"$n" && mount --bind "$e" "$n"
        fi
    done
    mkdir -p $T/dev/vfio
    : >$T/dev/vfio/vfio
    mount --move $T/dev /dev
fi
exec libvirtd --timeout 0
"""


class Libvirtd:
    def __init__(self, tmp):
        self.tmp = tmp
        for d in ("etc", "sock", "hp2M", "hp1G"):
            os.makedirs(os.path.join(tmp, d))
        with open(os.path.join(tmp, "etc", "qemu.conf"), "w") as f:
            f.write('user = "root"\ngroup = "root"\ndynamic_ownership = 0\n'
                    'security_driver = "none"\nswtpm_user = "root"\nswtpm_group = "root"\n'
                    'hugetlbfs_mount = ["%s/hp2M", "%s/hp1G"]\n' % (tmp, tmp))
        with open(os.path.join(tmp, "etc", "libvirtd.conf"), "w") as f:
            f.write('unix_sock_dir = "%s/sock"\n' % tmp)
        self.log = open(os.path.join(tmp, "libvirtd.log"), "w")
        # unshare execs bash, which execs libvirtd: the pid is libvirtd's.
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private",
             "bash", "-c", START, "start", tmp],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.uri = "qemu:///system?socket=%s/sock/libvirt-sock" % tmp
        sock = os.path.join(tmp, "sock", "libvirt-sock")
        deadline = time.time() + 90
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                sys.exit("FAIL: libvirtd did not come up (waited for %s); its log:\n%s"
                         % (sock, open(os.path.join(tmp, "libvirtd.log")).read()[-3000:]))
            time.sleep(0.1)

    def to_native(self, xml_path):
        r = subprocess.run(["virsh", "-q", "-c", self.uri, "domxml-to-native", "qemu-argv",
                            xml_path], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            return None, r.stderr.strip()
        argv = shlex.split(r.stdout)
        while argv and re.match(r"^[A-Z_]+=", argv[0]):
            argv.pop(0)
        return argv, None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---- one XML ----------------------------------------------------------------------

def lost(notes, tag, name=None):
    """Did the import report an element <tag ...> (with name='NAME', when
    given) as not carried over?"""
    pat = r": <%s[ >]" % re.escape(tag)
    if name is not None:
        pat = r": <%s [^>]*name='%s'" % (re.escape(tag), re.escape(name))
    return any(re.search(pat, n) and ": warning: " not in n for n in notes)


def lost_lines(notes, tag):
    """The XML lines of the elements <tag ...> the import reports as not
    carried over (a note is "FILE:LINE: <tag ...>: what: why")."""
    out = set()
    for n in notes:
        m = re.search(r":(\d+): <%s[ >]" % re.escape(tag), n)
        if m and ": warning: " not in n:
            out.add(int(m.group(1)))
    return out


def elements_by_line(text, tag):
    """{line: (attributes, [(child tag, its attributes)])} of every <tag>
    element of an XML text, by the line it starts on."""
    import xml.parsers.expat
    out, stack = {}, []
    p = xml.parsers.expat.ParserCreate()

    def start(name, attrs):
        if name == tag:
            stack.append(p.CurrentLineNumber)
            out[stack[-1]] = (attrs, [])
        elif stack:
            out[stack[-1]][1].append((name, attrs))

    def end(name):
        if name == tag and stack:
            stack.pop()
    p.StartElementHandler, p.EndElementHandler = start, end
    p.Parse(text, True)
    return out


def absent(v):
    return v in (None, False, "", [], {}, ())


def compare(name, xml_path, lv, tmp):
    problems = []
    text = open(xml_path).read()
    ref = os.path.join(tmp, name + ".libvirt.xml")
    with open(ref, "w") as f:
        f.write(adapt(text))
    largv, err = lv.to_native(ref)
    if largv is None:
        return ["libvirt refused it: " + err]
    r = subprocess.run([VMRUN, "import", xml_path], capture_output=True, text=True)
    if r.returncode not in (0, 3):
        return ["vmrun import exited %d: %s" % (r.returncode, r.stderr)]
    notes = r.stderr.splitlines()
    profile = json.loads(r.stdout)
    pfile = os.path.join(tmp, name + ".json")
    with open(pfile, "w") as f:
        f.write(r.stdout)
    p = subprocess.run([VMRUN, "print-cmd", pfile], capture_output=True, text=True)
    if p.returncode != 0:
        return ["vmrun print-cmd exited %d: %s" % (p.returncode, p.stderr)]
    vargv = shlex.split(p.stdout.replace("\\\n", " "), comments=True)
    # Files reach QEMU as inherited fds (/dev/fdset/N, /proc/self/fd/N);
    # print-cmd names each one's path after the command ("# fd N: what:
    # PATH (mode)"): compare those paths.
    fdpath = {}
    for line in p.stdout.splitlines():
        m = re.match(r"# fd (\d+): [^:]*: (.*) \((?:read-only|read-write|write-only)\)$", line)
        if m:
            fdpath[m.group(1)] = m.group(2)

    def unfd(a):
        return re.sub(r"(/dev/fdset/|/proc/self/fd/)(\d+)",
                      lambda m: fdpath.get(m.group(2), m.group(0)).replace(",", ",,"), a)
    vargv = [unfd(a) for a in vargv]
    L = facts(largv)
    V = facts(vargv, profile.get("memory", {}).get("hugepages"))
    # Host USB devices are not on vmrun's command line: vmrun plugs them in
    # while the VM runs, and print-cmd says so after the command
    # ("# usb[N]: VVVV:PPPP: ...").
    for line in p.stdout.splitlines():
        m = re.match(r"# usb\[\d+\]: ([0-9a-f]{4}):([0-9a-f]{4})\b", line)
        if m:
            V["usb"].append((int(m.group(1), 16), int(m.group(2), 16)))
    V["usb"].sort()
    root = ET.fromstring(text)

    def same(what, a, b, tag=None, name=None):
        """A fact both must have alike; vmrun may lack it (never have it
        otherwise) where a note says its element did not carry over."""
        if a == b:
            return
        for t in ([tag] if isinstance(tag, str) else tag or []):
            if absent(b) and lost(notes, t, name):
                return
        problems.append("%s: libvirt %r, vmrun %r" % (what, a, b))

    same("vfio-pci devices", L["vfio"], V["vfio"])
    same("memory MiB", L["mem"], V["mem"])
    same("memory page size", L["page"], V["page"], "hugepages")
    # The topology must be the same; the vCPUs started at boot may differ
    # only where the import says vmrun starts all of them (libvirt starts
    # <vcpu current=...> and plugs the rest in later).
    same("SMP topology", L["smp"] and L["smp"][1:], V["smp"] and V["smp"][1:])
    if L["smp"] and V["smp"] and L["smp"][0] != V["smp"][0] and not (
            lost(notes, "vcpu") and V["smp"][0] == V["smp"][1] * V["smp"][2] * V["smp"][3]):
        same("vCPUs at boot", L["smp"][0], V["smp"][0])
    u = root.find("uuid")
    if u is not None and uuid_ok(u.text or ""):
        same("UUID", L["uuid"], V["uuid"], "uuid")
    # Hyper-V: libvirt writes hv-X=on, vmrun's object form too; a flag the
    # import left out has a note on its element.
    for k in sorted(set(L["hv"]) | set(V["hv"])):
        el = k[3:].replace("-", "_")
        same("Hyper-V flag " + k, L["hv"].get(k), V["hv"].get(k),
             [el, el.split("_")[0], "hyperv", "vendor_id" if el == "vendor_id" else el])
    # CPU: the model, and the flags the XML asks for (its <feature>
    # elements and the KVM settings); libvirt adds more of its own to named
    # models, from the host it runs on. host-model is the host's CPU under
    # libvirt's name of the day: a warning of the import, not compared.
    cpu = root.find("cpu")
    if cpu is None or cpu.get("mode") != "host-model":
        same("CPU model", L["cpu_model"], V["cpu_model"], "cpu")
        asked = {"kvm", "kvmclock", "pmu", "migratable", "kvm-hint-dedicated"}
        for fe in (cpu.findall("feature") if cpu is not None else []):
            n = fe.get("name", "").replace("_", "-")
            asked.add({"pclmuldq": "pclmulqdq"}.get(n, n))
        # A flag vmrun lacks is excused only by a note on its own element.
        own = {"kvm": ("kvm", None), "pmu": ("pmu", None), "kvmclock": ("timer", "kvmclock"),
               "kvm-hint-dedicated": ("hint-dedicated", None)}
        names = {fe.get("name", "").replace("_", "-"): fe.get("name", "")
                 for fe in (cpu.findall("feature") if cpu is not None else [])}
        for k in sorted(asked):
            lv_, vv = L["cpu_flags"].get(k), V["cpu_flags"].get(k)
            if k == "migratable" and lv_ == "on":
                continue  # libvirt's own default for host-passthrough
            tag, nm = own.get(k, ("feature", names.get(k, k)))
            same("CPU flag " + k, lv_, vv, tag, nm)
    elif not any("<cpu> mode='host-model'" in n and "warning" in n for n in notes):
        problems.append("host-model without the import's warning")
    same("-overcommit cpu-pm=on", L["cpu_pm"], V["cpu_pm"], "hint-dedicated")
    for t, fields in L["smbios"].items():
        same("SMBIOS type %s" % t, fields, V["smbios"].get(t), "sysinfo")
    def each(what, a, b, tag, key, ident):
        """Lists of devices: every one vmrun has must be libvirt's, the
        same; one libvirt has and vmrun not must be an element a note says
        did not carry over, one note per device: key(fact) names it as
        ident(the element's attributes, its children) does."""
        a, b = list(a), list(b)
        extra = [x for x in b if x not in a or b.count(x) > a.count(x)]
        missing = [x for x in a if x not in b or a.count(x) > b.count(x)]
        els = elements_by_line(text, tag)
        dropped = [ident(*els[line]) for line in lost_lines(notes, tag) if line in els]
        unexcused = []
        for x in missing:
            if key(x) in dropped:
                dropped.remove(key(x))
            else:
                unexcused.append(x)
        if extra or unexcused:
            problems.append("%s: libvirt %r, vmrun %r%s" % (
                what, a, b, "; no note on the element of %r" % unexcused if unexcused else ""))

    def child(children, name, *attrs):
        for n, at in children:
            if n == name:
                for k in attrs:
                    if k in at:
                        return at[k]
        return None

    each("disks", [d for d in L["disks"] if d[0]], V["disks"], "disk", lambda d: d[0],
         lambda at, ch: child(ch, "source", "file", "dev", "name", "volume"))
    # A MAC the XML does not give (or gives wrong) is libvirt's random one.
    macs = {m.get("address", "").lower() for m in root.iter("mac")}
    each("NIC models and MACs", [(m, a if a in macs else None) for m, a in L["nics"]],
         V["nics"], "interface", lambda n: n[1],
         lambda at, ch: (child(ch, "mac", "address") or "").lower() or None)
    # vmrun's QEMU reads the virtual devices vmrun makes (/proc/self/fd/N):
    # what carried over is in the profile's input entries.
    vin = sorted(((e.get("evdev"), e.get("grab_toggle")) for e in profile.get("input", [])),
                 key=str)
    each("evdev inputs", L["evdev"], vin, "input", lambda ev: ev[0],
         lambda at, ch: child(ch, "source", "dev"))
    # QEMU's argv names no shared memory by its libvirt name: one note on a
    # <shmem> element per device vmrun lacks.
    each("shared memory", L["shmem"], V["shmem"], "shmem", lambda s: "shmem",
         lambda at, ch: "shmem")

    # What libvirt cannot show: pinning and USB devices by id, against the XML
    # (vmrun's from print-cmd's lines on them).
    pin = profile.get("cpu", {}).get("pin", {})
    ct = root.find("cputune")
    if ct is not None:
        vp = {int(e.get("vcpu")): e.get("cpuset") for e in ct.findall("vcpupin")}
        if vp and not lost(notes, "vcpupin"):
            want = [int(vp[i]) for i in sorted(vp)]
            same("vCPU pinning (XML)", want, pin.get("vcpus"))
        ep = ct.find("emulatorpin")
        if ep is not None and not lost(notes, "emulatorpin"):
            same("emulator pinning (XML)", cpulist(ep.get("cpuset")), pin.get("emulator"))
        ip = ct.find("iothreadpin")
        if ip is not None and not lost(notes, "iothreadpin"):
            same("iothread pinning (XML)", cpulist(ip.get("cpuset")), pin.get("iothreads"))
    usb = []
    dev = root.find("devices")
    for h in (dev.findall("hostdev") if dev is not None else []):
        v, pr = h.find("source/vendor"), h.find("source/product")
        if h.get("type") == "usb" and v is not None and pr is not None:
            usb.append((int(v.get("id"), 0), int(pr.get("id"), 0)))
    same("USB devices by id (XML)", sorted(set(usb)), V["usb"])
    return problems


def cpulist(s):
    out = []
    for part in s.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main():
    files = sys.argv[1:]
    if os.geteuid() != 0:
        skip("needs root (libvirtd runs as root in private namespaces)")
    for tool in ("libvirtd", "virsh", "unshare"):
        if shutil.which(tool) is None:
            skip("%s is missing: run scripts/install-deps.sh" % tool)
    tmp = tempfile.mkdtemp(prefix="vmrun-import-libvirt.")
    # The imported profiles go where only root can write, or vmrun would
    # not honour their qemu.extra_args (priv/trust.c).
    ptmp = tempfile.mkdtemp(prefix="import-libvirt.",
                            dir=os.environ.get("VMRUN_BUILD_DIR") or os.getcwd())
    lv = None
    failed = 0
    started = time.time()
    try:
        lv = Libvirtd(tmp)
        print("libvirtd up in %.1f s (pid %d)" % (time.time() - started, lv.proc.pid))
        for path in files:
            name = os.path.splitext(os.path.basename(path))[0]
            problems = compare(name, path, lv, ptmp)
            if problems:
                failed += 1
                print("FAIL %s" % path)
                for p in problems:
                    print("    " + p)
            else:
                print("ok   %s" % path)
    finally:
        if lv is not None:
            lv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(ptmp, ignore_errors=True)
    print("%d passed, %d failed (%.1f s)" % (len(files) - failed, failed, time.time() - started))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
