//! A recursive-descent parser for DynamoDB's expression grammar
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html>),
//! with its precedence, highest first: comparisons, IN, BETWEEN, functions, parentheses, NOT,
//! AND, OR. Placeholders are resolved while parsing, so the [`Placeholders`] record which ones
//! the request used; a bare attribute name that is a reserved word is refused here.

use super::ast::{Comparator, Condition, Operand, Path, PathElement, SetValue, Term, Update};
use super::lexer::{Spanned, Token, syntax_error, tokenize};
use super::placeholders::Placeholders;
use super::reserved::is_reserved;
use crate::serve::dynamodb::errors::invalid_expression;
use crate::serve::dynamodb::value::{AttributeValue, TYPE_NAMES};
use crate::serve::error::ApiError;

/// DynamoDB's limit on the operands of IN
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html>).
const MAX_IN_OPERANDS: usize = 100;

/// DynamoDB's limit on the length of an expression string, 4 KB (same page).
const MAX_EXPRESSION_BYTES: usize = 4 * 1024;

/// How deep parentheses and NOTs may nest: qsim's own bound, so that a hostile expression is
/// refused instead of overflowing the server thread's stack (the grammar recurses once per
/// level); no expression a person writes comes near it.
const MAX_NESTING: usize = 64;

pub(crate) fn parse_condition(
    text: &str,
    kind: &str,
    placeholders: &mut Placeholders,
) -> Result<Condition, ApiError> {
    let mut parser = Parser::new(text, kind, placeholders)?;
    let condition = parser.or()?;
    parser.expect_end()?;
    Ok(condition)
}

pub(crate) fn parse_update(
    text: &str,
    placeholders: &mut Placeholders,
) -> Result<Update, ApiError> {
    let mut parser = Parser::new(text, "UpdateExpression", placeholders)?;
    let update = parser.update()?;
    parser.expect_end()?;
    check_no_overlap(&update)?;
    Ok(update)
}

pub(crate) fn parse_projection(
    text: &str,
    placeholders: &mut Placeholders,
) -> Result<Vec<Path>, ApiError> {
    let mut parser = Parser::new(text, "ProjectionExpression", placeholders)?;
    let mut paths = vec![parser.path()?];
    while parser.eat_symbol(",") {
        paths.push(parser.path()?);
    }
    parser.expect_end()?;
    Ok(paths)
}

struct Parser<'a> {
    text: &'a str,
    kind: &'a str,
    tokens: Vec<Spanned>,
    at: usize,
    /// Parentheses and NOTs open around the current token.
    depth: usize,
    placeholders: &'a mut Placeholders,
}

impl<'a> Parser<'a> {
    fn new(
        text: &'a str,
        kind: &'a str,
        placeholders: &'a mut Placeholders,
    ) -> Result<Parser<'a>, ApiError> {
        if text.trim().is_empty() {
            return Err(invalid_expression(kind, "The expression can not be empty;"));
        }
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(invalid_expression(
                kind,
                format!(
                    "Expression size has exceeded the maximum allowed size; expression size: {}",
                    text.len()
                ),
            ));
        }
        Ok(Parser {
            text,
            kind,
            tokens: tokenize(text, kind)?,
            at: 0,
            depth: 0,
            placeholders,
        })
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.at].token
    }

    fn peek_second(&self) -> &Token {
        &self.tokens[(self.at + 1).min(self.tokens.len() - 1)].token
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.at].token.clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        token
    }

    fn error(&self) -> ApiError {
        let current = &self.tokens[self.at];
        let before = &self.tokens[self.at.saturating_sub(1)];
        let after = &self.tokens[(self.at + 1).min(self.tokens.len() - 1)];
        syntax_error(
            self.text,
            self.kind,
            (current.start, current.end),
            (before.start, after.end.max(current.end)),
        )
    }

    fn invalid(&self, detail: impl std::fmt::Display) -> ApiError {
        invalid_expression(self.kind, detail)
    }

    fn eat_symbol(&mut self, symbol: &'static str) -> bool {
        if self.peek() == &Token::Symbol(symbol) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_symbol(&mut self, symbol: &'static str) -> Result<(), ApiError> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// A keyword, matched without regard to case as DynamoDB does.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        match self.peek() {
            Token::Word(word) if word.eq_ignore_ascii_case(keyword) => {
                self.advance();
                true
            }
            _ => false,
        }
    }

    fn expect_end(&self) -> Result<(), ApiError> {
        match self.peek() {
            Token::End => Ok(()),
            _ => Err(self.error()),
        }
    }

    fn or(&mut self) -> Result<Condition, ApiError> {
        let mut condition = self.and()?;
        while self.eat_keyword("OR") {
            condition = Condition::Or(Box::new(condition), Box::new(self.and()?));
        }
        Ok(condition)
    }

    fn and(&mut self) -> Result<Condition, ApiError> {
        let mut condition = self.not()?;
        while self.eat_keyword("AND") {
            condition = Condition::And(Box::new(condition), Box::new(self.not()?));
        }
        Ok(condition)
    }

    fn not(&mut self) -> Result<Condition, ApiError> {
        if self.eat_keyword("NOT") {
            self.nest()?;
            let negated = self.not()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(negated)));
        }
        self.primary()
    }

    /// One level deeper, within [`MAX_NESTING`].
    fn nest(&mut self) -> Result<(), ApiError> {
        self.depth += 1;
        match self.depth > MAX_NESTING {
            true => Err(invalid_expression(
                self.kind,
                format!("The expression nests parentheses and NOT more than {MAX_NESTING} deep"),
            )),
            false => Ok(()),
        }
    }

    fn primary(&mut self) -> Result<Condition, ApiError> {
        if self.eat_symbol("(") {
            self.nest()?;
            let condition = self.or()?;
            self.expect_symbol(")")?;
            self.depth -= 1;
            return Ok(condition);
        }
        if let (Token::Word(name), Token::Symbol("(")) = (self.peek(), self.peek_second()) {
            if name != "size" {
                let name = name.clone();
                return self.boolean_function(&name);
            }
        }
        let left = self.operand()?;
        if let Some(comparator) = self.comparator() {
            let right = self.operand()?;
            return Ok(Condition::Compare(left, comparator, right));
        }
        if self.eat_keyword("BETWEEN") {
            let low = self.operand()?;
            if !self.eat_keyword("AND") {
                return Err(self.error());
            }
            let high = self.operand()?;
            return Ok(Condition::Between(left, low, high));
        }
        if self.eat_keyword("IN") {
            self.expect_symbol("(")?;
            let mut candidates = vec![self.operand()?];
            while self.eat_symbol(",") {
                candidates.push(self.operand()?);
            }
            self.expect_symbol(")")?;
            if candidates.len() > MAX_IN_OPERANDS {
                return Err(self.invalid(format!(
                    "The IN operator is provided with too many operands; number of operands: {}",
                    candidates.len()
                )));
            }
            return Ok(Condition::In(left, candidates));
        }
        Err(self.error())
    }

    fn comparator(&mut self) -> Option<Comparator> {
        let comparator = match self.peek() {
            Token::Symbol("=") => Comparator::Equal,
            Token::Symbol("<>") => Comparator::NotEqual,
            Token::Symbol("<") => Comparator::Less,
            Token::Symbol("<=") => Comparator::LessOrEqual,
            Token::Symbol(">") => Comparator::Greater,
            Token::Symbol(">=") => Comparator::GreaterOrEqual,
            _ => return None,
        };
        self.advance();
        Some(comparator)
    }

    fn boolean_function(&mut self, name: &str) -> Result<Condition, ApiError> {
        self.advance();
        self.expect_symbol("(")?;
        let condition = match name {
            "attribute_exists" => Condition::AttributeExists(self.path()?),
            "attribute_not_exists" => Condition::AttributeNotExists(self.path()?),
            "attribute_type" => {
                let path = self.path()?;
                self.expect_symbol(",")?;
                let kind = match self.operand()? {
                    Operand::Value(AttributeValue::S(kind))
                        if TYPE_NAMES.contains(&kind.as_str()) =>
                    {
                        kind
                    }
                    Operand::Value(AttributeValue::S(kind)) => {
                        return Err(self.invalid(format!(
                            "Invalid attribute type name found; type: {kind}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                        )));
                    }
                    other => return Err(self.operand_type_error("attribute_type", &other)),
                };
                Condition::AttributeType(path, kind)
            }
            "begins_with" => {
                let subject = self.operand()?;
                self.expect_symbol(",")?;
                let prefix = self.operand()?;
                for operand in [&subject, &prefix] {
                    if let Operand::Value(value) = operand
                        && !matches!(value, AttributeValue::S(_) | AttributeValue::B(_))
                    {
                        return Err(self.operand_type_error("begins_with", operand));
                    }
                }
                Condition::BeginsWith(subject, prefix)
            }
            "contains" => {
                let subject = self.operand()?;
                self.expect_symbol(",")?;
                Condition::Contains(subject, self.operand()?)
            }
            other => {
                return Err(self.invalid(format!("Invalid function name; function: {other}")));
            }
        };
        self.expect_symbol(")")?;
        Ok(condition)
    }

    fn operand_type_error(&self, function: &str, operand: &Operand) -> ApiError {
        let kind = match operand {
            Operand::Value(value) => value.type_name(),
            Operand::Path(_) | Operand::Size(_) => "path",
        };
        self.invalid(format!(
            "Incorrect operand type for operator or function; operator or function: {function}, operand type: {kind}"
        ))
    }

    fn operand(&mut self) -> Result<Operand, ApiError> {
        match self.peek().clone() {
            Token::Value(placeholder) => {
                self.advance();
                Ok(Operand::Value(self.placeholders.value(&placeholder, self.kind)?))
            }
            Token::Word(word) if word == "size" && self.peek_second() == &Token::Symbol("(") => {
                self.advance();
                self.advance();
                let path = self.path()?;
                self.expect_symbol(")")?;
                Ok(Operand::Size(path))
            }
            Token::Word(word) if self.peek_second() == &Token::Symbol("(") => {
                Err(self.invalid(format!(
                    "The function is not allowed to be used this way in an expression; function: {word}"
                )))
            }
            _ => Ok(Operand::Path(self.path()?)),
        }
    }

    /// A document path: `name`, `#name`, then `.name` and `[index]` steps.
    fn path(&mut self) -> Result<Path, ApiError> {
        let mut path = vec![PathElement::Attribute(self.attribute_name()?)];
        loop {
            if self.eat_symbol(".") {
                path.push(PathElement::Attribute(self.attribute_name()?));
            } else if self.eat_symbol("[") {
                let index = match self.peek().clone() {
                    Token::Integer(digits) => digits.parse::<usize>().map_err(|_| self.error())?,
                    _ => return Err(self.error()),
                };
                self.advance();
                self.expect_symbol("]")?;
                path.push(PathElement::Index(index));
            } else {
                return Ok(path);
            }
        }
    }

    fn attribute_name(&mut self) -> Result<String, ApiError> {
        match self.peek().clone() {
            Token::Name(placeholder) => {
                self.advance();
                self.placeholders.name(&placeholder, self.kind)
            }
            Token::Word(word) if word.starts_with(|c: char| !c.is_ascii_digit()) => {
                if is_reserved(&word) {
                    return Err(self.invalid(format!(
                        "Attribute name is a reserved keyword; reserved keyword: {word}"
                    )));
                }
                self.advance();
                Ok(word)
            }
            _ => Err(self.error()),
        }
    }

    fn update(&mut self) -> Result<Update, ApiError> {
        let mut update = Update::default();
        let mut seen: Vec<&'static str> = Vec::new();
        loop {
            let clause = ["SET", "REMOVE", "ADD", "DELETE"]
                .into_iter()
                .find(|clause| matches!(self.peek(), Token::Word(word) if word.eq_ignore_ascii_case(clause)));
            let Some(clause) = clause else {
                if seen.is_empty() || self.peek() != &Token::End {
                    return Err(self.error());
                }
                return Ok(update);
            };
            if seen.contains(&clause) {
                return Err(self.invalid(format!(
                    "The \"{clause}\" section can only be used once in an update expression;"
                )));
            }
            seen.push(clause);
            self.advance();
            loop {
                match clause {
                    "SET" => {
                        let path = self.path()?;
                        self.expect_symbol("=")?;
                        let value = self.set_value()?;
                        update.set.push((path, value));
                    }
                    "REMOVE" => update.remove.push(self.path()?),
                    _ => {
                        let path = self.path()?;
                        let value = match self.operand()? {
                            Operand::Value(value) => value,
                            _ => return Err(self.error()),
                        };
                        let fits = matches!(
                            (clause, &value),
                            ("ADD", AttributeValue::N(_))
                                | (
                                    _,
                                    AttributeValue::Ss(_)
                                        | AttributeValue::Ns(_)
                                        | AttributeValue::Bs(_)
                                )
                        );
                        if !fits {
                            return Err(self.invalid(format!(
                                "Incorrect operand type for operator or function; operator: {clause}, operand type: {}",
                                value.operand_type()
                            )));
                        }
                        if clause == "ADD" {
                            update.add.push((path, value));
                        } else {
                            update.delete.push((path, value));
                        }
                    }
                }
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
    }

    fn set_value(&mut self) -> Result<SetValue, ApiError> {
        let left = self.term()?;
        if self.eat_symbol("+") {
            return Ok(SetValue::Plus(left, self.term()?));
        }
        if self.eat_symbol("-") {
            return Ok(SetValue::Minus(left, self.term()?));
        }
        Ok(SetValue::Term(left))
    }

    fn term(&mut self) -> Result<Term, ApiError> {
        match (self.peek().clone(), self.peek_second()) {
            (Token::Word(function), Token::Symbol("(")) => {
                self.advance();
                self.advance();
                let term = match function.as_str() {
                    "if_not_exists" => {
                        let path = self.path()?;
                        self.expect_symbol(",")?;
                        Term::IfNotExists(path, Box::new(self.term()?))
                    }
                    "list_append" => {
                        let first = self.term()?;
                        self.expect_symbol(",")?;
                        Term::ListAppend(Box::new(first), Box::new(self.term()?))
                    }
                    other => {
                        return Err(
                            self.invalid(format!("Invalid function name; function: {other}"))
                        );
                    }
                };
                self.expect_symbol(")")?;
                Ok(term)
            }
            (Token::Value(placeholder), _) => {
                self.advance();
                Ok(Term::Value(
                    self.placeholders.value(&placeholder, self.kind)?,
                ))
            }
            _ => Ok(Term::Path(self.path()?)),
        }
    }
}

/// DynamoDB refuses an update whose paths overlap (one is the other or a prefix of it).
fn check_no_overlap(update: &Update) -> Result<(), ApiError> {
    let paths: Vec<&Path> = update.paths().collect();
    for (i, first) in paths.iter().enumerate() {
        for second in &paths[i + 1..] {
            let shorter = first.len().min(second.len());
            if first[..shorter] == second[..shorter] {
                return Err(invalid_expression(
                    "UpdateExpression",
                    format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [{}], path two: [{}]",
                        show_path(first),
                        show_path(second)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A path as DynamoDB's messages list it: `a, b, [0]`.
pub(crate) fn show_path(path: &Path) -> String {
    path.iter()
        .map(|element| match element {
            PathElement::Attribute(name) => name.clone(),
            PathElement::Index(index) => format!("[{index}]"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
