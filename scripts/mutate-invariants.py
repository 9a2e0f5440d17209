#!/usr/bin/env python3
# The proof that the invariant checker can fail (README "Reliability and
# security suite"): run by hand, not by scripts/test.sh (it rebuilds the
# test-support crate once per mutant, a few minutes).
#
# Removes, one at a time, each violation branch of the invariant checker
# (every `.push(` of a violation outside the tests, plus the "still
# retrying" suffix), runs the checker's unit tests, and reports whether any
# test failed. Restores the file at the end.
import os, re, subprocess, sys
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
p = os.path.join(ROOT, 'testing/src/invariants.rs')
orig = open(p).read()
body_end = orig.index('#[cfg(test)]\nmod tests')
code = orig[:body_end]
spans = []
for m in re.finditer(r'\.push\(', code):
    i = m.end(); depth = 1
    while depth:
        c = code[i]
        if c == '(': depth += 1
        elif c == ')': depth -= 1
        i += 1
    arg = code[m.end():i-1]
    spans.append((m.start(), i, arg))
mutants = []
for (a, b, arg) in spans:
    if 'slots.insert' in arg: continue
    mutants.append((f'push at line {code[:a].count(chr(10))+1}: {" ".join(arg.split())[:70]}',
                    code[:a] + '.truncate(usize::MAX)' + code[b:]))
k = code.index('" and still retrying"')
mutants.append(('the " and still retrying" suffix', code[:k] + '""' + code[k+len('" and still retrying"'):]))
results = []
try:
    for name, mutated in mutants:
        open(p, 'w').write(mutated + orig[body_end:])
        r = subprocess.run(['cargo', 'test', '-q', '-p', 'care-report-testing', '--lib', 'invariants::'],
                           cwd=ROOT, capture_output=True, text=True)
        failed = re.findall(r'^    invariants::tests::(\S+)$', r.stdout, re.M)
        compiled = 'error[' not in r.stderr
        status = 'COMPILE ERROR' if not compiled else ('caught by ' + ', '.join(failed) if failed else 'NOT CAUGHT')
        results.append((name, status))
        print(f'{name}\n    -> {status}', flush=True)
finally:
    open(p, 'w').write(orig)
print(f'{len(mutants)} mutants, {sum(1 for _, s in results if s.startswith("caught"))} caught')
sys.exit(0 if all(s.startswith('caught') for _, s in results) else 1)
