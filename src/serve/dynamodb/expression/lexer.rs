//! Splits an expression into tokens, keeping each token's place in the text for DynamoDB's
//! "Syntax error; token: ..., near: ..." messages.

use crate::serve::dynamodb::errors::invalid_expression;
use crate::serve::error::ApiError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A bare word: an attribute name, a keyword or a function name.
    Word(String),
    /// `#name`.
    Name(String),
    /// `:value`.
    Value(String),
    /// The digits of a list index.
    Integer(String),
    Symbol(&'static str),
    End,
}

#[derive(Clone, Debug)]
pub(crate) struct Spanned {
    pub(crate) token: Token,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Longest first, so `<=` is not read as `<` then `=`.
const SYMBOLS: [&str; 14] = [
    "<>", "<=", ">=", "=", "<", ">", "(", ")", "[", "]", ",", ".", "+", "-",
];

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(crate) fn tokenize(text: &str, kind: &str) -> Result<Vec<Spanned>, ApiError> {
    let mut tokens = Vec::new();
    let mut rest = text.char_indices().peekable();
    while let Some(&(start, c)) = rest.peek() {
        if c.is_whitespace() {
            rest.next();
            continue;
        }
        let word_end = |from: usize| {
            text[from..]
                .find(|c: char| !is_word_char(c))
                .map_or(text.len(), |offset| from + offset)
        };
        let (token, end) = if c == '#' || c == ':' {
            let end = word_end(start + 1);
            let body = text[start..end].to_owned();
            if end == start + 1 {
                let near = tokens
                    .last()
                    .map_or(start, |previous: &Spanned| previous.start);
                return Err(syntax_error(text, kind, (start, end), (near, end)));
            }
            (
                if c == '#' {
                    Token::Name(body)
                } else {
                    Token::Value(body)
                },
                end,
            )
        } else if c.is_ascii_digit() {
            let end = text[start..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(text.len(), |offset| start + offset);
            (Token::Integer(text[start..end].to_owned()), end)
        } else if is_word_char(c) {
            let end = word_end(start);
            (Token::Word(text[start..end].to_owned()), end)
        } else {
            match SYMBOLS
                .iter()
                .find(|symbol| text[start..].starts_with(**symbol))
            {
                Some(symbol) => (Token::Symbol(symbol), start + symbol.len()),
                None => {
                    return Err(invalid_expression(
                        kind,
                        format!("Invalid character encountered; character: {c}"),
                    ));
                }
            }
        };
        tokens.push(Spanned { token, start, end });
        while rest.peek().is_some_and(|&(at, _)| at < end) {
            rest.next();
        }
    }
    tokens.push(Spanned {
        token: Token::End,
        start: text.len(),
        end: text.len(),
    });
    Ok(tokens)
}

/// DynamoDB's syntax error: the offending token (`<EOF>` past the end) and the text `near` it,
/// from the token before to the token after.
pub(crate) fn syntax_error(
    text: &str,
    kind: &str,
    token: (usize, usize),
    near: (usize, usize),
) -> ApiError {
    let shown = if token.0 >= text.len() {
        "<EOF>"
    } else {
        &text[token.0..token.1]
    };
    invalid_expression(
        kind,
        format!(
            "Syntax error; token: \"{shown}\", near: \"{}\"",
            &text[near.0..near.1]
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        tokenize(text, "ConditionExpression")
            .unwrap()
            .into_iter()
            .map(|spanned| spanned.token)
            .collect()
    }

    #[test]
    fn words_placeholders_and_symbols() {
        assert_eq!(
            tokens("#a.b[10] <= :v_1"),
            [
                Token::Name("#a".into()),
                Token::Symbol("."),
                Token::Word("b".into()),
                Token::Symbol("["),
                Token::Integer("10".into()),
                Token::Symbol("]"),
                Token::Symbol("<="),
                Token::Value(":v_1".into()),
                Token::End,
            ]
        );
    }

    #[test]
    fn stray_characters_are_errors() {
        let error = tokenize("a = $b", "ConditionExpression").unwrap_err();
        assert_eq!(
            error.message,
            "Invalid ConditionExpression: Invalid character encountered; character: $"
        );
        let error = tokenize("a = :", "ConditionExpression").unwrap_err();
        assert_eq!(
            error.message,
            "Invalid ConditionExpression: Syntax error; token: \":\", near: \"= :\""
        );
    }
}
