//! The small languages inside string values: rates (`"5/s"`), comparisons (`">= 2"`),
//! conditions (`"dlq >= 2"`), crash policies and action targets (`"worker-2"`).
//!
//! Pure functions: each returns the parsed value or a message saying what is wrong; the caller
//! attaches span, key and the help line from the catalogue.

use crate::scenario::keys::{CRASH_WORDS, MAX_RATE, MIN_RATE, OPERATORS, echo, quoted_list};
use crate::scenario::locate::closest;
use crate::scenario::{CompareOp, CrashPolicy, GroupIx, LiveMetric, Rate, Target, WhenCondition};

/// "a string", "an integer", ...: the TOML type of a value, for messages.
pub(super) fn kind_of(value: &toml::Value) -> String {
    let kind = value.type_str();
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// `"unlimited"`, or `"N/s"`, `"N/m"`, `"N/h"`, `"N/d"` (fractions allowed) from [`MIN_RATE`] to
/// [`MAX_RATE`] a second: the engine spaces sends by `1 / rate`, which must be a representable
/// duration, and a faster rate than the maximum only fills memory.
pub(super) fn parse_rate(text: &str) -> Result<Rate, String> {
    let text = text.trim();
    if text == "unlimited" {
        return Ok(Rate::Unlimited);
    }
    let Some((number, unit)) = text.split_once('/') else {
        return Err(format!("\"{}\" is not a rate", echo(text)));
    };
    let seconds = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3_600.0,
        "d" => 86_400.0,
        other => return Err(format!("unknown rate unit \"{}\"", echo(other))),
    };
    let number = number.trim();
    let n = match number.parse::<f64>() {
        Ok(n) if n.is_finite() => n,
        Ok(_) => {
            return Err(format!(
                "\"{}\" in \"{}\" is not a finite number",
                echo(number),
                echo(text)
            ));
        }
        Err(_) => {
            return Err(format!(
                "\"{}\" in \"{}\" is not a number",
                echo(number),
                echo(text)
            ));
        }
    };
    if n <= 0.0 {
        return Err(format!(
            "the rate in \"{}\" must be more than 0",
            echo(text)
        ));
    }
    let per_second = n / seconds;
    if per_second < MIN_RATE {
        return Err(format!(
            "the rate \"{}\" is slower than the minimum, 1/d",
            echo(text)
        ));
    }
    if per_second > MAX_RATE {
        return Err(format!(
            "the rate \"{}\" is faster than the maximum, {MAX_RATE}/s",
            echo(text)
        ));
    }
    Ok(Rate::PerSecond(per_second))
}

/// `"OP NUMBER"`, e.g. `">= 2"`; the operator may touch the number.
pub(crate) fn parse_comparison(text: &str) -> Result<(CompareOp, f64), String> {
    let text = text.trim();
    // The whole run of operator characters is the operator: `">>= 3"` is a wrong operator,
    // not `>` followed by the number `">= 3"`.
    let op_end = text
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
        .unwrap_or(text.len());
    let written = &text[..op_end];
    let Some(op) = OPERATORS.iter().find(|op| **op == written) else {
        let operators = OPERATORS.join(" ");
        return Err(if written.is_empty() {
            format!(
                "\"{}\" does not start with a comparison operator ({operators})",
                echo(text)
            )
        } else {
            format!(
                "unknown comparison operator \"{}\" (operators: {operators})",
                echo(written)
            )
        });
    };
    let number = text[op.len()..].trim();
    let value = match number.parse::<f64>() {
        Ok(value) if value.is_finite() => value,
        Ok(_) => return Err(format!("\"{}\" is not a finite number", echo(number))),
        Err(_) => return Err(format!("\"{}\" is not a number", echo(number))),
    };
    Ok((operator(op), value))
}

fn operator(text: &str) -> CompareOp {
    match text {
        "==" => CompareOp::Eq,
        "!=" => CompareOp::Ne,
        "<=" => CompareOp::Le,
        ">=" => CompareOp::Ge,
        "<" => CompareOp::Lt,
        _ => CompareOp::Gt,
    }
}

/// `"METRIC OP NUMBER"` over live metrics.
pub(super) fn parse_condition(text: &str) -> Result<WhenCondition, String> {
    let trimmed = text.trim();
    let name_end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    let name = &trimmed[..name_end];
    if name.is_empty() {
        return Err(format!(
            "\"{}\" does not start with a metric name",
            echo(trimmed)
        ));
    }
    let Some(metric) = LiveMetric::from_name(name) else {
        let names: Vec<&str> = LiveMetric::ALL.iter().map(|(_, n, _)| *n).collect();
        let suggestion = closest(name, &names)
            .map(|s| format!(", did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(format!("unknown live metric `{}`{suggestion}", echo(name)));
    };
    let (op, value) = parse_comparison(&trimmed[name_end..])?;
    Ok(WhenCondition { metric, op, value })
}

/// A crash policy from a TOML string or number.
pub(super) fn parse_crash_policy(value: &toml::Value) -> Result<CrashPolicy, String> {
    let probability = match value {
        toml::Value::String(word) => {
            return match word.as_str() {
                "never" => Ok(CrashPolicy::Never),
                "once" => Ok(CrashPolicy::Once),
                "always" => Ok(CrashPolicy::Always),
                other => Err(format!(
                    "unknown crash policy \"{}\" (words: {})",
                    echo(other),
                    quoted_list(CRASH_WORDS)
                )),
            };
        }
        toml::Value::Float(p) => *p,
        toml::Value::Integer(p) => *p as f64,
        other => {
            return Err(format!(
                "expected a word or a number, found {}",
                kind_of(other)
            ));
        }
    };
    if (0.0..=1.0).contains(&probability) {
        Ok(CrashPolicy::Probability(probability))
    } else {
        Err(format!("probability {probability} is out of range"))
    }
}

/// `"all"`, a group name, or `"GROUP-N"` (an instance, 1-based) of one of `groups`.
pub(super) fn parse_target(text: &str, groups: &[&str]) -> Result<Target, String> {
    if text == "all" {
        return Ok(Target::All);
    }
    let position = |name: &str| groups.iter().position(|g| *g == name).map(GroupIx);
    if let Some(group) = position(text) {
        return Ok(Target::Group(group));
    }
    let instance = text
        .rsplit_once('-')
        .and_then(|(name, index)| Some((name, position(name)?, index.parse::<u32>().ok()?)));
    if let Some((group, ix, index)) = instance {
        return if index >= 1 {
            Ok(Target::Instance { group: ix, index })
        } else {
            Err(format!(
                "instance numbers start at 1: \"{group}-1\" is the first"
            ))
        };
    }
    let suggestion = closest(text, groups)
        .map(|s| format!(", did you mean \"{s}\"?"))
        .unwrap_or_default();
    Err(format!(
        "no consumer group or instance \"{}\"{suggestion}",
        echo(text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("unlimited" => Ok(Rate::Unlimited))]
    #[test_case("5/s" => Ok(Rate::PerSecond(5.0)))]
    #[test_case("0.5/s" => Ok(Rate::PerSecond(0.5)))]
    #[test_case("30/m" => Ok(Rate::PerSecond(0.5)))]
    #[test_case("0/s" => Err("the rate in \"0/s\" must be more than 0".into()))]
    #[test_case("120/h" => Ok(Rate::PerSecond(120.0 / 3600.0)))]
    #[test_case("5/y" => Err("unknown rate unit \"y\"".into()))]
    #[test_case("1e-300/s" => Err("the rate \"1e-300/s\" is slower than the minimum, 1/d".into()); "below one a day")]
    #[test_case("0.5/d" => Err("the rate \"0.5/d\" is slower than the minimum, 1/d".into()); "half a day")]
    #[test_case("1/d" => Ok(Rate::PerSecond(1.0 / 86_400.0)); "one a day")]
    #[test_case("100001/s" => Err("the rate \"100001/s\" is faster than the maximum, 100000/s".into()); "above max")]
    #[test_case("inf/s" => Err("\"inf\" in \"inf/s\" is not a finite number".into()); "infinite")]
    #[test_case("NaN/s" => Err("\"NaN\" in \"NaN/s\" is not a finite number".into()); "nan")]
    #[test_case("-3/s" => Err("the rate in \"-3/s\" must be more than 0".into()); "negative")]
    #[test_case("fast" => Err("\"fast\" is not a rate".into()))]
    fn rates(text: &str) -> Result<Rate, String> {
        parse_rate(text)
    }

    #[test_case(">= 2" => Ok((CompareOp::Ge, 2.0)))]
    #[test_case("<3.5" => Ok((CompareOp::Lt, 3.5)))]
    #[test_case("!= 0" => Ok((CompareOp::Ne, 0.0)))]
    #[test_case("=> 2" => matches Err(_))]
    #[test_case(">= two" => Err("\"two\" is not a number".into()))]
    #[test_case(">>= 3" => Err("unknown comparison operator \">>=\" (operators: == != <= >= < >)".into()); "doubled operator")]
    #[test_case(">= inf" => Err("\"inf\" is not a finite number".into()); "infinite")]
    #[test_case("== NaN" => Err("\"NaN\" is not a finite number".into()); "nan")]
    fn comparisons(text: &str) -> Result<(CompareOp, f64), String> {
        parse_comparison(text)
    }

    #[test]
    fn conditions_name_live_metrics() {
        let condition = parse_condition("dlq >= 2").unwrap();
        assert_eq!(
            condition,
            WhenCondition {
                metric: LiveMetric::Dlq,
                op: CompareOp::Ge,
                value: 2.0
            }
        );
        let error = parse_condition("dql >= 2").unwrap_err();
        assert_eq!(error, "unknown live metric `dql`, did you mean `dlq`?");
    }

    #[test_case("all" => Ok(Target::All))]
    #[test_case("worker" => Ok(Target::Group(GroupIx(0))))]
    #[test_case("worker-2" => Ok(Target::Instance { group: GroupIx(0), index: 2 }))]
    #[test_case("slow-worker" => Ok(Target::Group(GroupIx(1))); "group with a dash")]
    #[test_case("worker-0" => matches Err(_))]
    #[test_case("wroker" => Err("no consumer group or instance \"wroker\", did you mean \"worker\"?".into()))]
    fn targets(text: &str) -> Result<Target, String> {
        parse_target(text, &["worker", "slow-worker"])
    }

    #[test_case(toml::Value::String("once".into()) => Ok(CrashPolicy::Once))]
    #[test_case(toml::Value::Float(0.25) => Ok(CrashPolicy::Probability(0.25)))]
    #[test_case(toml::Value::Integer(1) => Ok(CrashPolicy::Probability(1.0)))]
    #[test_case(toml::Value::Float(1.5) => matches Err(_))]
    #[test_case(toml::Value::Boolean(true) => matches Err(_))]
    fn crash_policies(value: toml::Value) -> Result<CrashPolicy, String> {
        parse_crash_policy(&value)
    }
}
