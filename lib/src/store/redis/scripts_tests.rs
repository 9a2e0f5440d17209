//! Every script's header against the struct that calls it (see the module
//! docs of `scripts.rs` for the header's form).

use std::collections::HashSet;

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum List {
    Keys,
    Argv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fixed,
    Optional,
    Repeated,
}

/// One `-- KEYS[i] name: …` / `-- ARGV[i..] a, b (repeated): …` line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    list: List,
    kind: Kind,
    names: Vec<String>,
}

/// The header's entries per list, checked for consistent positions.
fn parse_header(file: &str, text: &str) -> Result<(Vec<Entry>, Vec<Entry>), String> {
    let mut keys: Vec<Entry> = Vec::new();
    let mut argv: Vec<Entry> = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with("--")) {
        let rest = line.trim_start_matches("--").trim_start();
        let list = if rest.starts_with("KEYS[") {
            List::Keys
        } else if rest.starts_with("ARGV[") {
            List::Argv
        } else {
            continue;
        };
        let open = rest.find('[').unwrap_or(0);
        let close = rest
            .find(']')
            .ok_or_else(|| format!("{file}: `{line}` has no `]`"))?;
        let index = &rest[open + 1..close];
        let (start, repeated) = match index.strip_suffix("..") {
            Some(n) => (n, true),
            None => (index, false),
        };
        let start: usize = start
            .parse()
            .map_err(|_| format!("{file}: `{line}`: index `{index}` is not `n` or `n..`"))?;
        let spec = rest[close + 1..]
            .split(':')
            .next()
            .unwrap_or_default()
            .trim();
        // A trailing note in parentheses: `(optional…)` or `(repeated)`.
        let (spec, kind) = match spec.split_once('(') {
            Some((names, note)) if note.starts_with("optional") => (names, Kind::Optional),
            Some((names, note)) if note.starts_with("repeated") => (names, Kind::Repeated),
            Some(_) => return Err(format!("{file}: `{line}`: unknown note")),
            None => (spec, Kind::Fixed),
        };
        if repeated != (kind == Kind::Repeated) {
            return Err(format!(
                "{file}: `{line}`: `n..` and `(repeated)` go together"
            ));
        }
        let names: Vec<String> = spec.split(',').map(|n| n.trim().to_owned()).collect();
        if names
            .iter()
            .any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        {
            return Err(format!("{file}: `{line}`: names are snake_case words"));
        }
        if kind != Kind::Repeated && names.len() != 1 {
            return Err(format!("{file}: `{line}`: one name per position"));
        }
        let entries = if list == List::Keys {
            &mut keys
        } else {
            &mut argv
        };
        let expected: usize = 1 + entries.iter().map(|e| e.names.len()).sum::<usize>();
        if start != expected {
            return Err(format!("{file}: `{line}`: expected position {expected}"));
        }
        match entries.last().map(|e| e.kind) {
            Some(Kind::Repeated) => {
                return Err(format!(
                    "{file}: `{line}`: nothing follows a repeated group"
                ))
            }
            Some(Kind::Optional) if kind == Kind::Fixed => {
                return Err(format!(
                    "{file}: `{line}`: a fixed position after an optional one"
                ))
            }
            _ => {}
        }
        entries.push(Entry { list, kind, names });
    }
    Ok((keys, argv))
}

/// Matches the names one call sent against a list's entries; returns the
/// indices of the entries the call used.
fn match_names(entries: &[Entry], sent: &[&str]) -> Result<Vec<usize>, String> {
    let mut used = Vec::new();
    let mut rest = sent;
    let mut optional_absent = false;
    for (i, entry) in entries.iter().enumerate() {
        let group: Vec<&str> = entry.names.iter().map(String::as_str).collect();
        match entry.kind {
            Kind::Fixed => {
                if rest.first() != Some(&group[0]) {
                    return Err(format!("expected `{}`, sent {rest:?}", group[0]));
                }
                rest = &rest[1..];
                used.push(i);
            }
            Kind::Optional => {
                if !optional_absent && rest.first() == Some(&group[0]) {
                    rest = &rest[1..];
                    used.push(i);
                } else {
                    optional_absent = true;
                }
            }
            Kind::Repeated => {
                while !rest.is_empty() {
                    if rest.len() < group.len() || rest[..group.len()] != group[..] {
                        return Err(format!("expected the group {group:?}, sent {rest:?}"));
                    }
                    rest = &rest[group.len()..];
                    used.push(i);
                }
            }
        }
    }
    if rest.is_empty() {
        Ok(used)
    } else {
        Err(format!("sent {rest:?}, which the header does not list"))
    }
}

/// The literal indices the body reads (`KEYS[3]`), and whether it reads any
/// by expression (`KEYS[i]`, `#ARGV`).
fn body_reads(body: &str, list: &str) -> (Vec<usize>, bool) {
    let mut literal = Vec::new();
    let mut computed = false;
    for line in body.lines() {
        let code = line.split("--").next().unwrap_or_default();
        if code.contains(&format!("#{list}")) {
            computed = true;
        }
        let mut at = code;
        while let Some(pos) = at.find(&format!("{list}[")) {
            let after = &at[pos + list.len() + 1..];
            let inner = after.split(']').next().unwrap_or_default();
            match inner.parse::<usize>() {
                Ok(n) => literal.push(n),
                Err(_) => computed = true,
            }
            at = after;
        }
    }
    (literal, computed)
}

/// The whole check of one script against the calls made of it.
fn check(file: &str, text: &str, calls: &[Args]) -> Result<(), String> {
    let (keys, argv) = parse_header(file, text)?;
    let mut used: HashSet<(List, usize)> = HashSet::new();
    for (n, call) in calls.iter().enumerate() {
        let sent: Vec<&str> = call.keys.iter().map(|(name, _)| *name).collect();
        for i in match_names(&keys, &sent).map_err(|e| format!("{file}: call {n}: KEYS: {e}"))? {
            used.insert((List::Keys, i));
        }
        let sent: Vec<&str> = call.argv.iter().map(|(name, _)| *name).collect();
        for i in match_names(&argv, &sent).map_err(|e| format!("{file}: call {n}: ARGV: {e}"))? {
            used.insert((List::Argv, i));
        }
    }
    for (i, entry) in keys.iter().chain(&argv).enumerate() {
        let index = if i < keys.len() { i } else { i - keys.len() };
        if !used.contains(&(entry.list, index)) {
            return Err(format!(
                "{file}: the header lists {:?} {:?}, which no call sends",
                entry.list, entry.names
            ));
        }
    }
    let body: String = text
        .lines()
        .skip_while(|l| l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for (list, entries) in [("KEYS", &keys), ("ARGV", &argv)] {
        let declared: usize = entries.iter().filter(|e| e.kind != Kind::Repeated).count();
        let repeated = entries.iter().any(|e| e.kind == Kind::Repeated);
        let (literal, computed) = body_reads(&body, list);
        if let Some(n) = literal
            .iter()
            .find(|n| **n == 0 || (**n > declared && !repeated))
        {
            return Err(format!(
                "{file}: the body reads {list}[{n}], which the header does not list"
            ));
        }
        if computed && !repeated {
            return Err(format!(
                "{file}: the body indexes {list} by expression, but the header lists no repeated group"
            ));
        }
    }
    Ok(())
}

fn args(call: &impl LuaCall) -> Args {
    let mut a = Args::default();
    call.args(&mut a);
    a
}

fn job_keys() -> JobKeys {
    JobKeys {
        job: "p:job:1".to_owned(),
        slots: "p:job:1:slots".to_owned(),
        data: "p:job:1:data".to_owned(),
        due: "p:due".to_owned(),
        history: "p:job:1:history".to_owned(),
        ops: ops_keys(),
    }
}

fn ops_keys() -> OpsKeys {
    OpsKeys {
        jobs: "p:ops:jobs".to_owned(),
        ids: "p:ops:ids".to_owned(),
        expiry: "p:ops:expiry".to_owned(),
        statuses: ["a", "b", "c", "d", "e"].map(|s| format!("p:ops:status:{s}")),
    }
}

fn fence() -> Fence {
    Fence {
        job_id: JobId::new(),
        token: 3,
        now_ms: 1_000,
    }
}

const TTL: Ttl = Ttl {
    ttl_after_update_ms: 60_000,
    margin_after_deadline_ms: 5_000,
};

/// Sample calls of every script, covering each optional argument present
/// and absent and each repeated group zero, one and two times.
fn samples() -> Vec<(Lua, Vec<Args>)> {
    let create = |idem: Option<CreateIdem>| CreateCall {
        keys: job_keys(),
        idem,
        job_id: JobId::new(),
        now_ms: 1,
        deadline_ms: 2,
        message: "m".to_owned(),
        questionnaire: "{}".to_owned(),
        due_ms: 3,
        ttl: TTL,
        client: None,
    };
    let idem = |stale: Option<(String, JobId)>| CreateIdem {
        key: "p:idem:k".to_owned(),
        fingerprint: "fp".to_owned(),
        stale,
    };
    let save_plan = |slots: Vec<(String, String)>| SavePlanCall {
        keys: job_keys(),
        fence: fence(),
        plan: "{}".to_owned(),
        slot_order: "[]".to_owned(),
        progress: 10,
        message: "m".to_owned(),
        ttl: TTL,
        slots,
    };
    let slot = |n: u8| (format!("h{n}/cqc"), "{}".to_owned());
    let record = |data: Option<String>, started: Option<i64>, hour: Option<HourCount>| RecordCall {
        keys: job_keys(),
        fence: fence(),
        slot_field: "h/cqc".to_owned(),
        slot_json: "{}".to_owned(),
        loaded: data.is_some(),
        data_json: data,
        progress: 50,
        message: "m".to_owned(),
        ttl: TTL,
        slot_status: "loaded",
        attempts: 1,
        attempt_started_ms: started,
        hour,
    };
    let hour = || HourCount {
        key: "p:ops:hour:0".to_owned(),
        field: "src:cqc:loaded".to_owned(),
        ttl_ms: 1,
    };
    let finish = |error: Option<String>| FinishCall {
        keys: job_keys(),
        fence: fence(),
        status: "completed",
        message: "m".to_owned(),
        error,
        auto_retry: false,
        progress_full: true,
        ttl: TTL,
    };
    let due = |n: u8| DueCall {
        due: "p:due".to_owned(),
        now_ms: 1,
        candidates: (0..n)
            .map(|i| (format!("p:job:{i}"), format!("{i}")))
            .collect(),
    };
    let erase = |idem: Option<String>| EraseCall {
        keys: job_keys(),
        job_id: JobId::new(),
        idem,
    };
    let window = |w: i64| RateWindow {
        current: format!("p:rl:x:{w}"),
        previous: format!("p:rl:x:{}", w - 1),
        limit: 5,
        window_ms: w,
    };
    let rate = |windows: Vec<RateWindow>| RateLimitCall { now_ms: 1, windows };
    vec![
        (
            Lua::Create,
            vec![
                args(&create(None)),
                args(&create(Some(idem(None)))),
                args(&create(Some(idem(Some((
                    "p:job:0".to_owned(),
                    JobId::new(),
                )))))),
            ],
        ),
        (
            Lua::Read,
            vec![args(&ReadCall {
                job: "j".to_owned(),
                slots: "s".to_owned(),
                data: "d".to_owned(),
                with_data: true,
            })],
        ),
        (
            Lua::Claim,
            vec![args(&ClaimCall {
                keys: job_keys(),
                job_id: JobId::new(),
                owner: "w".to_owned(),
                now_ms: 1,
                lease_exp_ms: 2,
                ttl: TTL,
            })],
        ),
        (
            Lua::Renew,
            vec![args(&RenewCall {
                keys: job_keys(),
                fence: fence(),
                lease_exp_ms: 2,
                ttl: TTL,
            })],
        ),
        (
            Lua::Release,
            vec![args(&ReleaseCall {
                keys: job_keys(),
                fence: fence(),
                ttl: TTL,
            })],
        ),
        (
            Lua::SavePlan,
            vec![
                args(&save_plan(vec![])),
                args(&save_plan(vec![slot(1)])),
                args(&save_plan(vec![slot(1), slot(2)])),
            ],
        ),
        (
            Lua::Record,
            vec![
                args(&record(None, None, None)),
                args(&record(Some("{}".to_owned()), Some(5), Some(hour()))),
            ],
        ),
        (
            Lua::Finish,
            vec![args(&finish(None)), args(&finish(Some("e".to_owned())))],
        ),
        (
            Lua::GateManualRetry,
            vec![args(&GateManualRetryCall {
                keys: job_keys(),
                now_ms: 1,
                min_interval_ms: 2,
                ttl: TTL,
            })],
        ),
        (Lua::Due, vec![args(&due(0)), args(&due(1)), args(&due(2))]),
        (
            Lua::Erase,
            vec![
                args(&erase(None)),
                args(&erase(Some("p:idem:k".to_owned()))),
            ],
        ),
        (
            Lua::RateLimit,
            vec![
                args(&rate(vec![])),
                args(&rate(vec![window(10)])),
                args(&rate(vec![window(10), window(20)])),
            ],
        ),
        (
            Lua::SpendBudget,
            vec![
                args(&SpendBudgetCall {
                    counter: "p:budget:d".to_owned(),
                    limit: 10,
                    lifetime_ms: 2,
                    client: None,
                }),
                args(&SpendBudgetCall {
                    counter: "p:budget:d".to_owned(),
                    limit: 10,
                    lifetime_ms: 2,
                    client: Some(("p:budget:d:client:c".to_owned(), 3)),
                }),
            ],
        ),
        (
            Lua::CacheBegin,
            [
                None,
                Some(("h".to_owned(), "x".to_owned(), "y".to_owned(), 1)),
            ]
            .into_iter()
            .map(|hour| {
                args(&CacheBeginCall {
                    entry: "e".to_owned(),
                    fill: "e:fill".to_owned(),
                    token: "t".to_owned(),
                    now_ms: 1,
                    fill_ttl_ms: 2,
                    hour,
                })
            })
            .collect(),
        ),
        (
            Lua::OpsPrune,
            (0..3)
                .map(|n| {
                    args(&OpsPruneCall {
                        ops: ops_keys(),
                        now_ms: 1,
                        candidates: (0..n)
                            .map(|i| (format!("p:job:{i}"), format!("{i}")))
                            .collect(),
                    })
                })
                .collect(),
        ),
        (
            Lua::CacheComplete,
            vec![args(&CacheCompleteCall {
                entry: "e".to_owned(),
                fill: "e:fill".to_owned(),
                token: "t".to_owned(),
                now_ms: 1,
                ttl_ms: 2,
                value: "{}".to_owned(),
            })],
        ),
        (
            Lua::CacheAbandon,
            vec![args(&CacheAbandonCall {
                fill: "e:fill".to_owned(),
                token: "t".to_owned(),
            })],
        ),
        (
            Lua::LeaseAcquire,
            vec![args(&LeaseAcquireCall {
                lease: "l".to_owned(),
                token: "t".to_owned(),
                now_ms: 1,
                ttl_ms: 2,
            })],
        ),
        (
            Lua::LeaseRelease,
            vec![args(&LeaseReleaseCall {
                lease: "l".to_owned(),
                token: "t".to_owned(),
                now_ms: 1,
                cooldown_ms: 0,
            })],
        ),
    ]
}

#[test]
fn every_header_lists_exactly_what_its_struct_sends() {
    let samples = samples();
    let covered: HashSet<Lua> = samples.iter().map(|(lua, _)| *lua).collect();
    for lua in Lua::ALL {
        assert!(covered.contains(&lua), "{lua:?} has no sample call");
    }
    for (lua, calls) in &samples {
        let (file, text) = lua.source();
        if let Err(e) = check(file, text, calls) {
            panic!("{e}");
        }
    }
}

#[test]
fn the_check_refuses_a_header_that_drifted() {
    let calls = [args(&SpendBudgetCall {
        counter: "c".to_owned(),
        limit: 1,
        lifetime_ms: 2,
        client: None,
    })];
    let body = "\nlocal used = tonumber(redis.call('GET', KEYS[1]))\nreturn ARGV[2]";
    let good = "-- KEYS[1] counter: c\n-- ARGV[1] limit: l\n-- ARGV[2] lifetime_ms: t";
    assert_eq!(check("x", &format!("{good}{body}"), &calls), Ok(()));
    for bad in [
        // An argument the struct sends is not listed.
        "-- KEYS[1] counter: c\n-- ARGV[1] limit: l",
        // Listed under another name.
        "-- KEYS[1] counter: c\n-- ARGV[1] limit: l\n-- ARGV[2] lifetime: t",
        // Listed in another order.
        "-- KEYS[1] counter: c\n-- ARGV[1] lifetime_ms: t\n-- ARGV[2] limit: l",
        // A key the struct never sends.
        "-- KEYS[1] counter: c\n-- KEYS[2] other: o\n-- ARGV[1] limit: l\n-- ARGV[2] lifetime_ms: t",
        // A wrong position.
        "-- KEYS[1] counter: c\n-- ARGV[1] limit: l\n-- ARGV[3] lifetime_ms: t",
    ] {
        assert!(
            check("x", &format!("{bad}{body}"), &calls).is_err(),
            "accepted:\n{bad}"
        );
    }
    // The body reads an argument the header does not list.
    let reads_more = format!("{good}{body}\nlocal x = ARGV[3]");
    assert!(check("x", &reads_more, &calls).is_err());
}

#[test]
fn shared_constants_come_from_rust() {
    let common = include_str!("lua/common.lua");
    for name in ["HISTORY_LIMIT", "MIN_TTL_MS"] {
        assert!(
            !common.contains(&format!("local {name} =")),
            "common.lua defines {name} by hand"
        );
        assert!(common.contains(name), "common.lua does not use {name}");
    }
    let prelude = prelude();
    assert!(prelude.contains(&format!("local HISTORY_LIMIT = {HISTORY_LIMIT}\n")));
    assert!(prelude.contains(&format!("local MIN_TTL_MS = {MIN_TTL_MS}\n")));
    assert!(prelude.ends_with(common));
    // The job scripts get the prelude; the standalone ones do not.
    assert!(Lua::Record.text().starts_with(&prelude));
    assert_eq!(Lua::RateLimit.text(), Lua::RateLimit.source().1);
}

#[test]
fn numbers_are_sent_as_decimal_text() {
    let a = args(&record(Some(5)));
    let started = a
        .argv
        .iter()
        .find(|(name, _)| *name == "attempt_started_ms")
        .map(|(_, v)| v.as_str());
    assert_eq!(started, Some("5"));
    let a = args(&record(None));
    let started = a
        .argv
        .iter()
        .find(|(name, _)| *name == "attempt_started_ms")
        .map(|(_, v)| v.as_str());
    assert_eq!(started, Some(""));
}

fn record(started: Option<i64>) -> RecordCall {
    RecordCall {
        keys: job_keys(),
        fence: fence(),
        slot_field: "h/cqc".to_owned(),
        slot_json: "{}".to_owned(),
        data_json: None,
        loaded: false,
        progress: 200,
        message: "m".to_owned(),
        ttl: TTL,
        slot_status: "missing",
        attempts: 2,
        attempt_started_ms: started,
        hour: None,
    }
}
