//! The small languages inside string values: rates (`"5/s"`), comparisons (`">= 2"`),
//! conditions (`"dlq >= 2"`), crash policies and action targets (`"worker-2"`).
//!
//! Pure functions: each returns the parsed value or a message saying what is wrong; the caller
//! attaches span, key and the help line from the catalogue.

use crate::scenario::keys::{CRASH_WORDS, OPERATORS, quoted_list};
use crate::scenario::locate::closest;
use crate::scenario::{CompareOp, Condition, CrashPolicy, LiveMetric, Rate, Target};

/// "a string", "an integer", ...: the TOML type of a value, for messages.
pub fn kind_of(value: &toml::Value) -> String {
    let kind = value.type_str();
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// `"unlimited"`, `"N/s"` or `"N/m"` with N > 0 (fractions allowed).
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let text = text.trim();
    if text == "unlimited" {
        return Ok(Rate::Unlimited);
    }
    let Some((number, unit)) = text.split_once('/') else {
        return Err(format!("\"{text}\" is not a rate"));
    };
    let per_second = match unit.trim() {
        "s" => 1.0,
        "m" => 1.0 / 60.0,
        other => return Err(format!("unknown rate unit \"{other}\"")),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(Rate::PerSecond(n * per_second)),
        Ok(_) => Err(format!("the rate in \"{text}\" must be more than 0")),
        Err(_) => Err(format!(
            "\"{}\" in \"{text}\" is not a number",
            number.trim()
        )),
    }
}

/// `"OP NUMBER"`, e.g. `">= 2"`; the operator may touch the number.
pub fn parse_comparison(text: &str) -> Result<(CompareOp, f64), String> {
    let text = text.trim();
    let Some(op) = OPERATORS.iter().find(|op| text.starts_with(**op)) else {
        return Err(format!(
            "\"{text}\" does not start with a comparison operator ({})",
            OPERATORS.join(" ")
        ));
    };
    let number = text[op.len()..].trim();
    let value = number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("\"{number}\" is not a number"))?;
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
pub fn parse_condition(text: &str) -> Result<Condition, String> {
    let trimmed = text.trim();
    let name_end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    let name = &trimmed[..name_end];
    if name.is_empty() {
        return Err(format!("\"{trimmed}\" does not start with a metric name"));
    }
    let Some(metric) = LiveMetric::from_name(name) else {
        let names: Vec<&str> = LiveMetric::ALL.iter().map(|(_, n, _)| *n).collect();
        let suggestion = closest(name, &names)
            .map(|s| format!(", did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(format!("unknown live metric `{name}`{suggestion}"));
    };
    let (op, value) = parse_comparison(&trimmed[name_end..])?;
    Ok(Condition { metric, op, value })
}

/// A crash policy from a TOML string or number.
pub fn parse_crash_policy(value: &toml::Value) -> Result<CrashPolicy, String> {
    let probability = match value {
        toml::Value::String(word) => {
            return match word.as_str() {
                "never" => Ok(CrashPolicy::Never),
                "once" => Ok(CrashPolicy::Once),
                "always" => Ok(CrashPolicy::Always),
                other => Err(format!(
                    "unknown crash policy \"{other}\" (words: {})",
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
pub fn parse_target(text: &str, groups: &[&str]) -> Result<Target, String> {
    if text == "all" {
        return Ok(Target::All);
    }
    if groups.contains(&text) {
        return Ok(Target::Group(text.to_string()));
    }
    let instance = text
        .rsplit_once('-')
        .filter(|(group, _)| groups.contains(group))
        .and_then(|(group, index)| Some((group, index.parse::<u32>().ok()?)));
    if let Some((group, index)) = instance {
        return if index >= 1 {
            Ok(Target::Instance {
                group: group.to_string(),
                index,
            })
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
        "no consumer group or instance \"{text}\"{suggestion}"
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
    #[test_case("5/h" => Err("unknown rate unit \"h\"".into()))]
    #[test_case("fast" => Err("\"fast\" is not a rate".into()))]
    fn rates(text: &str) -> Result<Rate, String> {
        parse_rate(text)
    }

    #[test_case(">= 2" => Ok((CompareOp::Ge, 2.0)))]
    #[test_case("<3.5" => Ok((CompareOp::Lt, 3.5)))]
    #[test_case("!= 0" => Ok((CompareOp::Ne, 0.0)))]
    #[test_case("=> 2" => matches Err(_))]
    #[test_case(">= two" => Err("\"two\" is not a number".into()))]
    fn comparisons(text: &str) -> Result<(CompareOp, f64), String> {
        parse_comparison(text)
    }

    #[test]
    fn conditions_name_live_metrics() {
        let condition = parse_condition("dlq >= 2").unwrap();
        assert_eq!(
            condition,
            Condition {
                metric: LiveMetric::Dlq,
                op: CompareOp::Ge,
                value: 2.0
            }
        );
        let error = parse_condition("dql >= 2").unwrap_err();
        assert_eq!(error, "unknown live metric `dql`, did you mean `dlq`?");
    }

    #[test_case("all" => Ok(Target::All))]
    #[test_case("worker" => Ok(Target::Group("worker".into())))]
    #[test_case("worker-2" => Ok(Target::Instance { group: "worker".into(), index: 2 }))]
    #[test_case("slow-worker" => Ok(Target::Group("slow-worker".into())); "group with a dash")]
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
