#!/usr/bin/env python3
"""A fuzzing campaign over every libFuzzer target (`make fuzz-campaign`).

1. Builds the targets twice with clang: libFuzzer + ASan + UBSan at -O1 in build-fuzz/ (as
   `make fuzz`, which is -O0), and plain replay binaries with source-based coverage in
   build-fuzz-cov/.
2. Runs each target in turn for --seconds (its own corpus fuzz/corpus/<target>/ plus the extra
   seed folders CTest replays, a dictionary fuzz/<target>.dict when there is one), new units
   going to a scratch folder; then merges those that reach new edges into fuzz/corpus/<target>/
   (libFuzzer -merge=1 -use_counters=0: the committed corpus stays small).
3. Replays each target's corpora with the coverage build and measures the line coverage of
   the parser's own source files (llvm-profdata + llvm-cov export).
4. Prints one table row per target: executions, executions per second, coverage (cov/ft) at
   the end, new units merged, crashes (crash/leak/timeout/oom artifacts, kept in
   build-fuzz/campaign/<target>/), and per-file line coverage; also writes it to
   build-fuzz/campaign.md.

A long campaign on a shared machine: --runs N stops a target at N executions (--seconds is
then its cap); --deadline HH:MM (UTC) shares the time left: with --runs a target may use all
of it but --min-seconds for each target after it, and one whose rate of the last five minutes
projects past that is stopped after an equal share instead (without --runs every target gets the equal
share); --order speed runs a short probe of every target first and fuzzes the fastest first,
so the most reach --runs. The table so far is rewritten
after every target (build-fuzz/campaign.md, and build-fuzz/campaign.json with the raw rows).

--parallel N runs N processes of each target that share its corpus (libFuzzer reloads it), each
with its own seed and its share of --runs; the target's executions and executions per second are
their sums: a slow target on every core, as libFuzzer's own -jobs.

usage: fuzz/campaign.py [--seconds N] [--runs N] [--deadline HH:MM] [--order name|speed|given]
                        [--jobs J] [--parallel N] [--targets a,b,...] [--no-build]
                        [--coverage-only]
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The parser's own source files per target (generated asn1c code and libraries not ours are
# left out: the figure is about code this project wrote).
SOURCES = {
    "asn1_mts_apdu": ["asn1/mg_asn1.c", "asn1/mg_asn1_open.c"],
    "asn1_ess_label": ["asn1/mg_asn1.c"],
    "asn1_x411_label": ["asn1/mg_asn1.c"],
    "asn1_ppdu": ["asn1/mg_asn1.c", "asn1/mg_asn1_open.c"],
    "config_load": ["mta/config.c", "mta/config_listeners.c", "mta/config_expand.c", "mta/route.c", "mta/relay.c"],
    "crypto_unwrap": ["crypto/cms_unwrap.c", "crypto/cms_mime.c", "crypto/cms_der.c"],
    "crypto_detached": ["crypto/cms_unwrap.c"],
    "crypto_wrap": ["crypto/cms_wrap.c", "crypto/cms_der.c"],
    "crypto_receipt": ["crypto/cms_receipt.c"],
    "crypto_certs": ["crypto/cms_keys.c"],
    "crypto_ocsp": ["crypto/cert_ocsp.c"],
    "ipm_info": ["asn1/mg_ipm.c", "asn1/mg_print.c", "asn1/mg_print_orname.c"],
    "ipm_mm": ["asn1/mg_ipm.c", "asn1/mg_print.c", "asn1/mg_print_orname.c"],
    "labels_ber": ["labels/lbl_ber.c"],
    "labels_header": ["labels/lbl_header.c"],
    "labels_marking": ["labels/lbl_marking.c"],
    "labels_spif": ["labels/lbl_spif.c", "labels/lbl_spif_load.c"],
    "labels_xml": ["labels/lbl_xml.c"],
    "labels_codec": ["labels/lbl_codec.c"],
    "smtp_cmd": ["channels/smtp/smtp_cmd.c"],
    "smtp_session": ["channels/smtp/smtp_session.c", "channels/smtp/smtp_envelope.c"],
    "dsn_build": ["mta/dsn.c"],
    "control_request": ["mta/control.c"],
    "queue_store_recover": ["mta/queue_store.c", "mta/queue_store_apply.c", "mta/queue_store_read.c"],
    "smtp_client_session": ["channels/smtp/smtp_client_session.c"],
    "metrics_http": ["mta/metrics.c"],
    "msgid": ["mta/msgid.c"],
    "audit_time": ["mta/audit_time.c"],
    "oraddr": ["mta/oraddr.c"],
    "p1_tpkt": ["channels/p1/p1_tpkt.c"],
    "p1_session": ["channels/p1/p1_session.c"],
    "p1_pres": ["channels/p1/p1_pres.c", "channels/p1/p1_acse.c", "channels/p1/p1_ber.c"],
    "p1_rtse": ["channels/p1/p1_rtse.c", "channels/p1/p1_acse.c", "channels/p1/p1_bind.c",
                "channels/p1/p1_ber.c"],
    "p1_assoc": ["channels/p1/p1_assoc.c", "channels/p1/p1_assoc_bind.c", "channels/p1/p1_tpkt.c",
                 "channels/p1/p1_session.c", "channels/p1/p1_pres.c", "channels/p1/p1_acse.c",
                 "channels/p1/p1_rtse.c", "channels/p1/p1_bind.c"],
    "p1_mts": ["channels/p1/p1_mts.c", "channels/p1/p1_mts_build.c"],
    "mixer_addr": ["mixer/mixer_addr.c", "mixer/mixer_or.c", "mixer/mixer_ps.c",
                   "mixer/mixer_orname.c"],
    "mixer_table": ["mixer/mixer_table.c"],
    "mixer_to_x400": ["mixer/mixer_conv.c", "mixer/mixer_r2x.c", "mixer/mixer_hdr.c",
                      "mixer/mixer_env.c"],
    "mixer_to_822": ["mixer/mixer_conv.c", "mixer/mixer_x2r.c", "mixer/mixer_ber.c",
                     "mixer/mixer_orname.c", "mixer/mixer_mdn.c"],
    "mixer_dsn": ["mixer/mixer_report_dsn.c", "mixer/mixer_report.c"],
    "mixer_report_ber": ["mixer/mixer_report_ber.c", "mixer/mixer_report.c"],
    "rules_config": ["channels/rules/rules_compile.c", "channels/rules/rules_cfg.c"],
    "rules_match": ["channels/rules/rules_match.c", "channels/rules/rules_edit.c",
                    "channels/rules/rules_msg.c"],
    "labels_switch_extract": ["channels/labels/lsw_extract.c", "channels/labels/lsw_msg.c",
                              "channels/labels/lsw_smime.c", "channels/labels/lsw_certclear.c"],
    "cms_keyproc_request": ["channels/cms/cms_keyproc_proto.c"],
    "cms_label_class": ["channels/cms/cms_chan_select.c"],
    "cms_take_fields": ["channels/cms/cms_chan_select.c"],
    "cms_equiv": ["channels/cms/cms_chan_equiv.c"],
    "p1_cms": ["channels/p1/p1_cms.c"],
    "mixer_dsnp": ["mixer/mixer_dsnp.c"],
}

OVERHEAD = 25  # seconds per target for the merge and the coverage replay after its run

ARTIFACT = re.compile(r"^(crash|leak|timeout|oom)-")


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def configure(build, extra):
    env = dict(os.environ, CC="clang")
    sh(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Debug", "-DMIXGATE_E2E=OFF"] + extra,
       env=env, stdout=subprocess.DEVNULL)


def fuzz_tests(build):
    """{target: (binary, [corpus dirs], {env})} from CTest's view of the build."""
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, check=True,
                         capture_output=True, text=True).stdout
    tests = {}
    for t in json.loads(out)["tests"]:
        cmd = t.get("command")
        if not t["name"].startswith("fuzz.") or not cmd:
            continue
        env = {}
        for p in t.get("properties", []):
            if p["name"] == "ENVIRONMENT":
                for kv in p["value"]:
                    k, _, v = kv.partition("=")
                    env[k] = v
        dirs = [a for a in cmd[1:] if not a.startswith("-")]
        tests[t["name"][5:]] = (cmd[0], dirs, env)
    return tests


def last_match(rx, text, default=None):
    m = None
    for m in re.finditer(rx, text, re.M):
        pass
    return m.group(1) if m else default


def tail(path, size=8192):
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - size))
        return f.read().decode(errors="replace")


def run_fuzzer(cmds, env, log_paths, seconds, runs, fallback):
    """Runs libFuzzer, one process per command (--parallel: the same target, its corpus shared,
    each process its share of `runs`), with their logs in log_paths. With runs and fallback: a
    target whose rate of the last five minutes (all processes) projects past `seconds` to reach
    `runs` for a minute of checks in a row cannot reach them here (inputs grow, a target slows down), so it is interrupted
    (SIGINT: libFuzzer still prints its final stats) once it has had `fallback` seconds.
    Returns ([log per process], worst return code, seconds it ran)."""
    start = time.monotonic()
    samples = []  # (seconds, executions of all processes)
    logfs = [open(lp, "w") for lp in log_paths]
    ps = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=lf)
          for c, lf in zip(cmds, logfs)]
    stopped = False
    behind = 0  # consecutive checks whose projection missed
    while any(p.poll() is None for p in ps):
        time.sleep(2)
        elapsed = time.monotonic() - start
        if not runs or fallback is None or stopped:
            continue
        done = sum(int(last_match(r"^#(\d+)\s", tail(lp), "0")) for lp in log_paths)
        samples.append((elapsed, done))
        # the rate of the last five minutes: long enough that a minute of other work on the
        # machine (a build) does not look like the target slowing down for good
        while len(samples) > 2 and samples[1][0] < elapsed - 300:
            samples.pop(0)
        if elapsed < max(30, fallback) or done >= runs:
            behind = 0
            continue
        t0, d0 = samples[0]
        # libFuzzer logs a line on new coverage and at powers of two: when the count did
        # not move in the window, the average so far stands in
        rate = (done - d0) / (elapsed - t0) if done > d0 else done / elapsed
        behind = behind + 1 if rate <= 0 or elapsed + (runs - done) / rate > seconds else 0
        if behind >= 30:  # a minute of checks in a row
            for p in ps:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            stopped = True
    rcs = [p.wait() for p in ps]
    for lf in logfs:
        lf.close()
    logs = []
    for lp in log_paths:
        with open(lp, errors="replace") as f:
            logs.append(f.read())
    return logs, max(rcs, key=abs), int(round(time.monotonic() - start))


def run_target(name, binary, dirs, env, seconds, work, runs=0, fallback=None, parallel=1):
    own = dirs[0]
    if os.path.realpath(os.path.dirname(own)) != os.path.realpath(os.path.join(HERE, "corpus")):
        raise SystemExit(f"{name}: first corpus {own} is not under fuzz/corpus")
    os.makedirs(own, exist_ok=True)
    tdir = os.path.join(work, name)
    shutil.rmtree(tdir, ignore_errors=True)
    new = os.path.join(tdir, "new")
    art = os.path.join(tdir, "artifacts")
    os.makedirs(new)
    os.makedirs(art)
    # --parallel N: N processes of the target share the new-units directory (libFuzzer reloads
    # it, -reload, so each goes on from what the others found), each runs its share of the
    # executions with its own seed; the target's figures are their sums (coverage: the most)
    cmds = []
    for k in range(parallel):
        share = runs // parallel + (1 if k < runs % parallel else 0) if runs else 0
        cmd = [binary, f"-max_total_time={seconds}", "-print_final_stats=1", "-timeout=20",
               *([f"-runs={share}"] if runs else []),
               *([f"-seed={k + 1}"] if parallel > 1 else []),
               "-rss_limit_mb=2560", "-max_len=65536", f"-artifact_prefix={art}/"]
        d = os.path.join(HERE, name + ".dict")
        if os.path.exists(d):
            cmd.append(f"-dict={d}")
        cmds.append(cmd + [new] + [x for x in dirs if os.path.isdir(x)])
    full_env = dict(os.environ, **env)
    print(f"== {name}: {seconds}s" + (f" (or {fallback}s when it cannot reach {runs} runs)"
                                        if fallback is not None else "") +
          (f", {parallel} processes" if parallel > 1 else ""), file=sys.stderr)
    logs, rc, secs = run_fuzzer(cmds, full_env,
                                [os.path.join(tdir, "fuzz.log" if k == 0 else f"fuzz.{k}.log")
                                 for k in range(parallel)], seconds, runs, fallback)
    execs = sum(int(last_match(r"stat::number_of_executed_units:\s*(\d+)", g, "0")) for g in logs)
    eps = sum(int(last_match(r"stat::average_exec_per_sec:\s*(\d+)", g, "0")) for g in logs)
    covs = [last_match(r"^#\d+\s+\w+\s+cov: (\d+)", g, "?") for g in logs]
    fts = [last_match(r"^#\d+\s+\w+\s+cov: \d+ ft: (\d+)", g, "?") for g in logs]
    cov = max(covs, key=lambda c: int(c) if c.isdigit() else -1)
    ft = max(fts, key=lambda c: int(c) if c.isdigit() else -1)
    crashes = sorted(f for f in os.listdir(art) if ARTIFACT.match(f))
    before = set(os.listdir(own))
    # only units that reach new edges (hit counts aside: -use_counters=0) join the committed
    # corpus, so it stays small
    subprocess.run([binary, "-merge=1", "-use_counters=0", f"-artifact_prefix={art}/", own, new],
                   env=full_env,
                   capture_output=True, text=True, errors="replace")
    added = len(set(os.listdir(own)) - before)
    return {"execs": execs, "eps": eps, "cov": cov, "ft": ft, "crashes": crashes,
            "added": added, "rc": rc, "seconds": secs}


def probe(name, binary, dirs, env, seconds, work):
    """exec/s of a short run on the target's corpora (no new units kept): to order the
    campaign fastest first."""
    art = os.path.join(work, name, "probe")
    shutil.rmtree(art, ignore_errors=True)
    os.makedirs(os.path.join(art, "new"))
    # a scratch folder first: libFuzzer writes new units into its first corpus folder
    cmd = [binary, f"-max_total_time={seconds}", "-print_final_stats=1", "-timeout=20",
           "-rss_limit_mb=2560", "-max_len=65536", f"-artifact_prefix={art}/", f"{art}/new"]
    cmd += [x for x in dirs if os.path.isdir(x)]
    p = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True,
                       errors="replace")
    eps = int(last_match(r"stat::average_exec_per_sec:\s*(\d+)", p.stderr, "0"))
    print(f"probe {name}: {eps} exec/s", file=sys.stderr)
    return eps


def deadline_left(deadline):
    """Seconds from now to HH:MM UTC, the next such time within 12 hours or the last one before
    (None: no deadline). A campaign started at 23:50 with --deadline 02:30 ends tomorrow at 02:30;
    taken as today, its time left was negative and every target was skipped."""
    if not deadline:
        return None
    now = datetime.datetime.now(datetime.timezone.utc)
    h, m = (int(x) for x in deadline.split(":"))
    left = int((now.replace(hour=h, minute=m, second=0, microsecond=0) - now).total_seconds())
    if left < -12 * 3600:
        left += 24 * 3600
    elif left > 12 * 3600:
        left -= 24 * 3600
    return left


def coverage(name, binary, dirs, env, work):
    """({source file: (covered lines, lines)}, {source file below 70%: [functions never run]})
    from a replay of the corpora."""
    files = SOURCES.get(name)
    if not files or not os.path.exists(binary):
        return {}, {}
    pdir = os.path.join(work, name, "profile")
    shutil.rmtree(pdir, ignore_errors=True)
    os.makedirs(pdir)
    run_env = dict(os.environ, **env)
    run_env["LLVM_PROFILE_FILE"] = os.path.join(pdir, "%p.profraw")
    subprocess.run([binary] + [x for x in dirs if os.path.isdir(x)], env=run_env,
                   capture_output=True)
    raws = glob.glob(os.path.join(pdir, "*.profraw"))
    if not raws:
        return {}, {}
    prof = os.path.join(pdir, "merged.profdata")
    subprocess.run(["llvm-profdata", "merge", "-sparse", "-o", prof] + raws, check=True)
    out = subprocess.run(["llvm-cov", "export", "-skip-expansions", binary,
                          f"-instr-profile={prof}"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)["data"][0]
    bdir = build_dir(binary)

    def rel(f):
        # the paths a ccache build (CCACHE_BASEDIR) records are relative: llvm-cov's own file
        # filter misses them, so the parser's files are picked here
        return os.path.relpath(os.path.join(bdir, f), ROOT)
    res = {}
    for f in data["files"]:
        r = rel(f["filename"])
        if r in files:
            lines = f["summary"]["lines"]
            res[r] = (lines["covered"], lines["count"])
    low = {f for f, (c, t) in res.items() if t and c * 100 < 70 * t}
    never = {}
    for fn in data["functions"]:
        r = rel(fn["filenames"][0])
        if r in low and not fn["count"]:
            never.setdefault(r, []).append(fn["name"].split(":")[-1])
    return res, never


def build_dir(binary):
    """The build folder a binary is in (relative paths in its coverage mapping start there)."""
    d = os.path.dirname(os.path.abspath(binary))
    while d != "/" and not os.path.exists(os.path.join(d, "CMakeCache.txt")):
        d = os.path.dirname(d)
    return d


def table(rows, a):
    total = sum(r["execs"] for _, r in rows)
    crashes = sum(len(r["crashes"]) for _, r in rows)
    goal = f", stop at {a.runs} executions" if a.runs else ""
    md = [f"Campaign of {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"at most {a.seconds} s per target{goal}, {len(rows)} targets, {total} executions, "
          f"{crashes} crashes (ASan + UBSan, libFuzzer, clang).", "",
          "| target | seconds | executions | exec/s | cov | ft | units merged | crashes | line coverage of the parser's files |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for n, r in rows:
        files = "<br>".join(f"{f} {c * 100 / t:.1f}% ({c}/{t})" for f, (c, t) in
                            sorted(r["lines"].items()) if t) or "-"
        cr = str(len(r["crashes"])) + (f" ({', '.join(r['crashes'])})" if r["crashes"] else "")
        md.append(f"| {n} | {r.get('seconds', '?')} | {r['execs']} | {r['eps']} | {r['cov']} | "
                  f"{r['ft']} | {r['added']} | {cr} | {files} |")
    below = sorted({f for _, r in rows for f, (c, t) in r["lines"].items() if t and c * 100 < 70 * t})
    md += ["", "Files below 70% line coverage: " + (", ".join(below) if below else "none") + "."]
    never = [(n, f, fs) for n, r in rows for f, fs in sorted(r.get("never", {}).items())]
    if never:
        md += ["", "Functions of those files the target never ran:", ""]
        md += [f"- {n}, {f}: {', '.join(fs)}" for n, f, fs in never]
    return "\n".join(md) + "\n", crashes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SECONDS_PER_TARGET", "10")))
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--deadline", default="")
    ap.add_argument("--order", choices=["name", "speed", "given"], default="name")
    ap.add_argument("--probe-seconds", type=int, default=5)
    ap.add_argument("--min-seconds", type=int, default=60,
                    help="with --runs and --deadline: the time kept for each target after")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--targets", default="")
    ap.add_argument("--parallel", type=int, default=1,
                    help="fuzzing processes per target (sharing its corpus; executions and "
                         "exec/s are their sums): a slow target on all cores")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--coverage-only", action="store_true",
                    help="no fuzzing: the line coverage of the corpora as they are "
                         "(build-fuzz/coverage.md)")
    a = ap.parse_args()
    bf = os.path.join(ROOT, "build-fuzz")
    bc = os.path.join(ROOT, "build-fuzz-cov")
    if not a.no_build:
        # -O1 as OSS-Fuzz builds: the same sanitizer checks and reach, 1.3 to 1.8 times the
        # executions per second of -O0 (labels_ber 19,962 -> 34,713; mixer_to_x400 1,749 ->
        # 2,398; crypto_receipt 2,354 -> 2,938); asserts stay (Debug, no NDEBUG)
        configure(bf, ["-DMIXGATE_SANITIZE=ON", "-DMIXGATE_LIBFUZZER=ON",
                       "-DCMAKE_C_FLAGS_DEBUG=-g -O1"])
        cflags = "-fprofile-instr-generate -fcoverage-mapping"
        configure(bc, [f"-DCMAKE_C_FLAGS={cflags}", f"-DCMAKE_EXE_LINKER_FLAGS={cflags}",
                       "-DMIXGATE_SANITIZE=OFF", "-DMIXGATE_LIBFUZZER=OFF"])
    # CTest names the tests before their binaries exist; it gives their commands only after
    listed = subprocess.run(["ctest", "-N", "-R", r"^fuzz\."], cwd=bf, check=True,
                            capture_output=True, text=True).stdout
    names = sorted(re.findall(r"Test +#\d+: fuzz\.(\S+)", listed))
    if a.targets:
        want = a.targets.split(",")
        names = [n for n in want if n in names] if a.order == "given" else \
            [n for n in names if n in want]
    if not names:
        raise SystemExit("no fuzz targets")
    if not a.no_build:
        tgts = ["fuzz_" + n for n in names]
        sh(["cmake", "--build", bf, "-j", str(a.jobs), "--target"] + tgts, stdout=subprocess.DEVNULL)
        sh(["cmake", "--build", bc, "-j", str(a.jobs), "--target"] + tgts, stdout=subprocess.DEVNULL)
    tests = fuzz_tests(bf)
    cov_tests = fuzz_tests(bc)
    report = "coverage" if a.coverage_only else "campaign"
    work = os.path.join(bf, report)
    os.makedirs(work, exist_ok=True)
    if a.order == "speed" and not a.coverage_only:
        speed = {n: probe(n, *tests[n], a.probe_seconds, work) for n in names}
        names.sort(key=lambda n: -speed[n])
        print("order: " + ",".join(names), file=sys.stderr)
    rows = []
    for i, n in enumerate(names):
        binary, dirs, env = tests[n]
        secs = a.seconds
        left = deadline_left(a.deadline)
        fallback = None
        if left is not None:
            k = len(names) - i
            share = (left - OVERHEAD * k) // k
            if a.runs:
                # fastest first: this target may take all the time left but a minimum for
                # each target after it, and stops at --runs; one whose executions project past
                # that is stopped after an equal share of the time left instead, so the most
                # targets reach --runs and every target gets a run
                fallback = max(10, min(secs, share))
                secs = min(secs, left - OVERHEAD * k - a.min_seconds * (k - 1))
            else:
                secs = min(secs, share)
            if secs < 10:
                print(f"{n}: skipped, the deadline is near", file=sys.stderr)
                continue
        if a.coverage_only:
            r = {"execs": 0, "eps": 0, "cov": "-", "ft": "-", "crashes": [], "added": 0,
                 "seconds": 0}
        else:
            r = run_target(n, binary, dirs, env, secs, work, a.runs, fallback, a.parallel)
        cbin, cdirs, cenv = cov_tests.get(n, (None, dirs, env))
        r["lines"], r["never"] = coverage(n, cbin, cdirs, cenv, work) if cbin else ({}, {})
        rows.append((n, r))
        files = ", ".join(f"{os.path.basename(f)} {c * 100 / t:.0f}%" for f, (c, t) in
                          sorted(r["lines"].items()) if t) or "-"
        print(f"{n}: {r['seconds']}s execs={r['execs']} exec/s={r['eps']} cov={r['cov']} "
              f"ft={r['ft']} new={r['added']} crashes={len(r['crashes'])} lines: {files}",
              file=sys.stderr, flush=True)
        text, _ = table(rows, a)
        with open(os.path.join(bf, report + ".md"), "w") as f:
            f.write(text)
        with open(os.path.join(bf, report + ".json"), "w") as f:
            json.dump(rows, f, indent=1)
    text, crashes = table(rows, a)
    print(text)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
