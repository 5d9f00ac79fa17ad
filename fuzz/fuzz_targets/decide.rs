//! Request parsing plus decision, from arbitrary bytes (the body as sent): must never
//! panic.
#![no_main]

use std::sync::OnceLock;

use aftersales::rules::Rules;
use libfuzzer_sys::fuzz_target;

fn rules() -> Option<&'static Rules> {
    static R: OnceLock<Option<Rules>> = OnceLock::new();
    R.get_or_init(|| Rules::embedded().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(rules) = rules() else { return };
    let now = chrono::DateTime::from_timestamp(1_697_000_000, 0).unwrap_or_default();
    for lang in [0, 1] {
        if let Ok(d) = aftersales::decide_json(rules, data, now, aftersales::rules::Lang(lang), String::new()) {
            let _ = aftersales::render::summary(&d.view);
        }
    }
});
