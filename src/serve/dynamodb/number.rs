//! DynamoDB's number type: a decimal of up to 38 significant digits, magnitude from 1E-130 to
//! under 1E+126, positive or negative or zero
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html>,
//! "Number").
//!
//! Held as an arbitrary-precision [`BigDecimal`], never an `f64`: `0.1 + 0.2` is `0.3` and a
//! 38-digit counter increments exactly. Every result is checked against the limits above, so a
//! sum that needs a 39th digit is an error, as on DynamoDB, rather than silently rounded.

use std::fmt;
use std::str::FromStr;

use bigdecimal::{BigDecimal, Zero};

use super::errors::validation;
use crate::serve::error::ApiError;

const MAX_DIGITS: u64 = 38;
/// The decimal exponent of the largest and smallest magnitudes, in scientific notation.
const MAX_EXPONENT: i64 = 125;
const MIN_EXPONENT: i64 = -130;

/// A number within DynamoDB's limits, normalized (no trailing zeros), so equal numbers are
/// equal values and print the same.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Number(BigDecimal);

impl Number {
    pub(crate) fn parse(text: &str) -> Result<Number, ApiError> {
        let trimmed = text.trim();
        let plain_digits = trimmed
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
        let decimal = BigDecimal::from_str(trimmed)
            .ok()
            .filter(|_| plain_digits && !trimmed.is_empty());
        match decimal {
            Some(decimal) => Number::checked(decimal),
            None => Err(validation(format!(
                "A value provided cannot be converted into a number: {text:?}"
            ))),
        }
    }

    fn checked(decimal: BigDecimal) -> Result<Number, ApiError> {
        let decimal = decimal.normalized();
        if decimal.is_zero() {
            return Ok(Number(BigDecimal::from(0)));
        }
        if decimal.digits() > MAX_DIGITS {
            return Err(validation(
                "Attempting to store more than 38 significant digits in a Number",
            ));
        }
        let (_, scale) = decimal.as_bigint_and_exponent();
        // The exponent in scientific notation: 1234.5 is 1.2345E+3.
        let exponent = decimal.digits() as i64 - 1 - scale;
        if exponent > MAX_EXPONENT {
            return Err(validation(
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ));
        }
        if exponent < MIN_EXPONENT {
            return Err(validation(
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ));
        }
        Ok(Number(decimal))
    }

    pub(crate) fn add(&self, other: &Number) -> Result<Number, ApiError> {
        Number::checked(&self.0 + &other.0)
    }

    pub(crate) fn subtract(&self, other: &Number) -> Result<Number, ApiError> {
        Number::checked(&self.0 - &other.0)
    }

    pub(crate) fn from_count(count: usize) -> Number {
        Number(BigDecimal::from(count as u64))
    }

    pub(crate) fn significant_digits(&self) -> usize {
        self.0.digits() as usize
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_plain_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    #[test]
    fn numbers_are_normalized_and_exact() {
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!(n("1e2").to_string(), "100");
        assert_eq!(n("-0.000").to_string(), "0");
        assert_eq!(n("0.1").add(&n("0.2")).unwrap(), n("0.3"));
        let big = "9".repeat(37);
        assert_eq!(
            n(&big).add(&n("1")).unwrap().to_string(),
            format!("1{}", "0".repeat(37))
        );
        assert_eq!(n("5").subtract(&n("7")).unwrap().to_string(), "-2");
    }

    #[test]
    fn numbers_order_by_value() {
        assert!(n("9") < n("10"));
        assert!(n("-10") < n("-9"));
        assert_eq!(n("2.0"), n("2"));
    }

    #[test]
    fn limits_are_enforced() {
        let too_precise = format!("1.{}", "1".repeat(38));
        assert_eq!(
            Number::parse(&too_precise).unwrap_err().message,
            "Attempting to store more than 38 significant digits in a Number"
        );
        assert!(Number::parse("1E+125").is_ok());
        assert!(
            Number::parse("1E+126")
                .unwrap_err()
                .message
                .starts_with("Number overflow")
        );
        assert!(Number::parse("1E-130").is_ok());
        assert!(
            Number::parse("1E-131")
                .unwrap_err()
                .message
                .starts_with("Number underflow")
        );
        // A 39th digit from arithmetic is refused, not rounded.
        let almost = format!("1{}", "0".repeat(37));
        assert!(n(&almost).add(&n("0.1")).is_err());
    }

    #[test]
    fn non_numbers_are_rejected() {
        for text in [
            "",
            "abc",
            "NaN",
            "Infinity",
            "1..2",
            "0x10",
            "1e9223372036854775807",
            "1e-9223372036854775808",
            "1e99999999999999999999",
        ] {
            let error = Number::parse(text).unwrap_err();
            assert_eq!(error.code, "ValidationException", "{text}");
        }
    }
}
