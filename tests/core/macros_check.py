#!/usr/bin/env python3
"""The public macros, expanded as C and as C++ (test_core_macros_c/_cxx), and
their coverage (test_core_macros_covered).

compile: compile SOURCE with every available compiler of the language (the
  build's own, plus gcc/g++ and clang/clang++ when installed) in each
  standard, with -Wall -Wextra -Wpedantic. Any warning or error fails
  (docs/api.md: every public macro compiles warning-free, C99 on and C++11
  on). Then compile the PROBES below, which must warn or fail as their
  macro promises, and run the program given after --run (built by CMake
  from the same source) and fail on its failure.

covered: every public macro (#define LUMEN_X in include/lumen/*.h and
  version.h.in, not LUMEN__ and not an include guard) is used in some
  tests/core/macros/*.inc, and SOURCE includes every one of those files.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

WARN = re.compile(r'^(?P<loc>[^:\s][^:]*:\d+:\d+): (?P<kind>warning|error|fatal error): (?P<msg>.*)$')
NOTE = re.compile(r'^[^:\s][^:]*:\d+:\d+: note: (?P<msg>.*)$')
# gcc: "in expansion of macro 'X'"; clang: "expanded from macro 'X'".
MACRO = re.compile(r"(?:in expansion of|expanded from) macro [\u2018'`]([A-Za-z_][A-Za-z0-9_]*)[\u2019']")
DEFINE = re.compile(r'^\s*#\s*define\s+(LUMEN_[A-Z0-9][A-Za-z0-9_]*)')
IFNDEF = re.compile(r'^\s*#\s*ifndef\s+([A-Za-z_][A-Za-z0-9_]*)')


def compilers(lang, own):
    """The build's compiler first, then gcc/clang (g++/clang++), each once."""
    names = [own] if own else []
    names += ['gcc', 'clang'] if lang == 'c' else ['g++', 'clang++']
    found, seen = [], set()
    for name in names:
        path = shutil.which(name) if name else None
        if not path:
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        found.append(path)
    return found


def diagnostics(output):
    """[(kind, location, message, [macros expanded from])] of a compiler's output."""
    out = []
    for line in output.splitlines():
        m = WARN.match(line)
        if m:
            out.append((m['kind'], m['loc'], m['msg'], []))
            continue
        m = NOTE.match(line)
        if m and out:
            out[-1][3].extend(MACRO.findall(m['msg']))
    return out


def public(name):
    return name.startswith('LUMEN_') and not name.startswith('LUMEN__')


# Snippets that must draw a diagnostic (or none): what a macro promises
# beyond expanding cleanly. (name, code, extra flags, expected: a regex the
# compiler's diagnostics must match with "warning" or "error", or None for
# a clean compile). Each runs with every compiler, in the first standard.
PROBES = [
    ('LUMEN_PRINTF checks the format of calls',
     'static void f(const char *fmt, ...) LUMEN_PRINTF(1, 2);\n'
     'static void f(const char *fmt, ...) { (void)fmt; }\n'
     'void g(void); void g(void) { f("%s", 42); }\n',
     [], r'warning: .*format'),
    ('LUMEN_DEPRECATED warns at a call',
     'LUMEN_DEPRECATED("use g") int old_f(void);\n'
     'int g(void); int g(void) { return old_f(); }\n',
     [], r'warning: .*deprecated'),
    ('LUMEN_NO_DEPRECATION_WARNINGS silences LUMEN_DEPRECATED',
     'LUMEN_DEPRECATED("use g") int old_f(void);\n'
     'int g(void); int g(void) { return old_f(); }\n',
     ['-DLUMEN_NO_DEPRECATION_WARNINGS'], None),
    ('LUMEN_LOG takes at most LUMEN_LOG_MAX_FIELDS (31) fields: 32 do not compile',
     'void g(lumen_logger *lg); void g(lumen_logger *lg) { LUMEN_LOG_INFO(lg, "m", ' +
     ', '.join(f'LUMEN_INT("f{i}", {i})' for i in range(32)) + '); }\n',
     [], r'error: '),
]


def finds_curl(cc, lang):
    """Whether cc finds <curl/curl.h> (lumen/http_curl.h includes it). A
    cross compiler may not: Debian installs it under the host's multiarch
    directory only. Without it the curl adapter's macros are left out of
    that compiler's checks (LUMEN_MACROS_NO_CURL), and the run says so."""
    p = subprocess.run([cc, '-fsyntax-only', '-x', 'c' if lang == 'c' else 'c++', '-'],
                       input='#include <curl/curl.h>\n', capture_output=True, text=True)
    return p.returncode == 0


def run_compiler(cc, lang, std, include, source, extra=()):
    cmd = [cc, f'-std={std}', '-Wall', '-Wextra', '-Wpedantic', '-fsyntax-only',
           '-x', 'c' if lang == 'c' else 'c++', '-DLUMEN_MACROS_HTTP=1', *extra]
    if not finds_curl(cc, lang):
        cmd.append('-DLUMEN_MACROS_NO_CURL=1')
    cmd += ['-fdiagnostics-plain-output' if 'clang' not in os.path.basename(cc)
            else '-fno-caret-diagnostics']
    for d in include:
        cmd += ['-I', d]
    cmd.append(source)
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'))


def compile_check(a):
    lang = a.lang
    bad = []
    runs = 0
    cc_list = compilers(lang, a.compiler)
    if not cc_list:
        sys.exit(f'no {lang} compiler found')
    for cc in cc_list:
        if not finds_curl(cc, lang):
            print(f'{os.path.basename(cc)}: <curl/curl.h> not found: lumen/http_curl.h left out')
        for std in a.std:
            p = run_compiler(cc, lang, std, a.include, a.source)
            runs += 1
            diags = diagnostics(p.stderr)
            where = f'{os.path.basename(cc)} -std={std}'
            if p.returncode != 0 and not diags:
                bad.append(f'{where}: the compiler failed:\n{p.stderr}')
            for kind, loc, msg, macros in diags:
                via = [m for m in macros if public(m)]
                bad.append(f'{where}: {loc}: {kind}: {msg}' +
                           (f' (from {", ".join(dict.fromkeys(via))})' if via else ''))
            print(f'{where}: {len(diags)} diagnostic(s)')
    tmp = tempfile.mkdtemp()
    try:
        for n, (name, code, flags, expect) in enumerate(PROBES):
            src = os.path.join(tmp, f'probe{n}.{"c" if lang == "c" else "cc"}')
            with open(src, 'w') as f:
                f.write('#include <lumen/lumen.h>\n' + code)
            for cc in cc_list:
                p = run_compiler(cc, lang, a.std[0], a.include, src, flags)
                runs += 1
                where = f'{os.path.basename(cc)} -std={a.std[0]}'
                out = '\n'.join(f'{k}: {m}' for k, _, m, _ in diagnostics(p.stderr))
                if expect is None:
                    ok = p.returncode == 0 and not out
                else:
                    ok = re.search(expect, out) is not None
                print(f'probe: {where}: {name}: {"ok" if ok else "FAILED"}')
                if not ok:
                    bad.append(f'{where}: probe "{name}": expected '
                               f'{"a clean compile" if expect is None else repr(expect)}, got:\n'
                               f'{p.stderr or "(nothing)"}')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for b in bad:
        print('FAIL:', b)
    print(f'{runs} compilations ({", ".join(os.path.basename(c) for c in cc_list)}; '
          f'{", ".join(a.std)}; {len(PROBES)} probes); {len(bad)} failure(s)')
    ok = not bad
    if a.run:
        p = subprocess.run(a.run)
        if p.returncode != 0:
            print(f'FAIL: {" ".join(a.run)} exited with {p.returncode}')
            ok = False
    return 0 if ok else 1


def public_macros(include):
    """{name: header} of the public macros of include/lumen/*.h and version.h.in."""
    found = {}
    for h in sorted(glob.glob(os.path.join(include, 'lumen', '*.h')) +
                    glob.glob(os.path.join(include, 'lumen', '*.h.in'))):
        lines = open(h).read().split('\n')
        guards = {m.group(1) for m in map(IFNDEF.match, lines) if m}
        for line in lines:
            m = DEFINE.match(line)
            if m and public(m.group(1)) and m.group(1) not in guards:
                found.setdefault(m.group(1), os.path.basename(h))
    return found


def covered(a):
    macros = public_macros(a.include[0])
    text = ''
    for f in sorted(glob.glob(os.path.join(a.macros_dir, '*.inc'))):
        text += open(f).read()
    used = set(re.findall(r'\b(LUMEN_[A-Z0-9][A-Za-z0-9_]*)\b', text))
    missing = sorted((h, m) for m, h in macros.items() if m not in used)
    for h, m in missing:
        inc = os.path.splitext(h.replace('.h.in', '.h'))[0]
        inc = 'version' if h == 'version.h.in' else inc
        print(f'FAIL: {m} (lumen/{h.replace(".in", "")}) is expanded nowhere: use it in '
              f'tests/core/macros/{inc}.inc')
    print(f'{len(macros)} public macros, {len(macros) - len(missing)} expanded in '
          f'{a.macros_dir}/*.inc')
    # An .inc file the program does not include expands nothing.
    driver = open(a.source).read() if a.source else ''
    orphans = [os.path.basename(f) for f in sorted(glob.glob(os.path.join(a.macros_dir, '*.inc')))
               if f'#include "macros/{os.path.basename(f)}"' not in re.sub(r'#\s+include', '#include', driver)]
    for f in orphans:
        print(f'FAIL: macros/{f} is not included by {a.source}: add it there, with its call in main()')
    return 1 if missing or orphans or not macros else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['compile', 'covered'])
    ap.add_argument('--lang', choices=['c', 'c++'])
    ap.add_argument('--compiler', default='')
    ap.add_argument('--std', nargs='+', default=[])
    ap.add_argument('--include', nargs='+', default=[])
    ap.add_argument('--source')
    ap.add_argument('--macros-dir')
    ap.add_argument('--run', nargs=argparse.REMAINDER)
    a = ap.parse_args()
    sys.exit(compile_check(a) if a.mode == 'compile' else covered(a))


if __name__ == '__main__':
    main()
