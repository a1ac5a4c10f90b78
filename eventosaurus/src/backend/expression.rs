//! Condition and update expressions, evaluated in memory: test mode's side of
//! [`Backend::transact_write`](super::Backend::transact_write).
//!
//! Deliberately small. What it supports, it evaluates as DynamoDB does; anything else is
//! refused with an [`Error::InvalidTransaction`] naming it, never guessed.
//!
//! * **Attributes** are top-level names, plain (`balance`) or placeholders (`#b`). Nested
//!   paths (`a.b`, `a[0]`) are refused. Reserved words are *not* checked (DynamoDB rejects
//!   e.g. a bare `status`: use `#placeholders` for such names).
//! * **Conditions:** `=`, `<>`, `<`, `<=`, `>`, `>=`, `BETWEEN :a AND :b`, `IN (:a, :b)`,
//!   `attribute_exists(a)`, `attribute_not_exists(a)`, `begins_with(a, :v)`,
//!   `contains(a, :v)`, `AND`, `OR`, `NOT` and parentheses, with the comparison rules of
//!   [`Condition::matches`] (numbers numerically, different types never equal, a missing
//!   attribute only satisfies `<>`). `size(..)` and `attribute_type(..)` are refused.
//! * **Updates:** `SET a = x`, `SET a = x + y`, `SET a = x - y` where `x`/`y` are an
//!   attribute, a `:value` or `if_not_exists(a, x)`; `REMOVE a`; `ADD a :v` (a number, or a
//!   set to add elements to); `DELETE a :v` (set elements to remove). Numbers add exactly
//!   (up to 38 digits). `list_append(..)` is refused. Key attributes cannot be updated.
//! * As on DynamoDB, an undefined placeholder, a placeholder no expression uses, and two
//!   actions on one attribute are errors.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::transact::{TransactAction, TransactItem};
use crate::codec::Item;
use crate::error::{Error, Result};
use crate::plan::{Condition, Operator};

/// A parsed transaction item: its condition and, for an update, its update expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedItem {
    pub condition: Option<Cond>,
    pub update: Option<UpdateExpr>,
}

/// Parses an item's expressions and checks its placeholders.
pub(crate) fn parse_item(item: &TransactItem) -> Result<ParsedItem> {
    let mut used = Used::default();
    let condition = match item.condition.as_deref() {
        Some(text) => Some(parse_condition(text, item, &mut used)?),
        None => None,
    };
    let update = match &item.action {
        TransactAction::Update {
            update_expression, ..
        } => Some(parse_update(update_expression, item, &mut used)?),
        _ => None,
    };
    let unused_names: Vec<&str> = item
        .names
        .keys()
        .filter(|k| !used.names.contains(*k))
        .map(String::as_str)
        .collect();
    let unused_values: Vec<&str> = item
        .values
        .keys()
        .filter(|k| !used.values.contains(*k))
        .map(String::as_str)
        .collect();
    if !unused_names.is_empty() || !unused_values.is_empty() {
        let mut unused: Vec<&str> = unused_names.into_iter().chain(unused_values).collect();
        unused.sort_unstable();
        return Err(Error::InvalidTransaction {
            reason: format!(
                "a {} on `{}` defines placeholders no expression uses: {} (DynamoDB refuses them too)",
                item.action.name(),
                item.table,
                unused.join(", ")
            ),
        });
    }
    Ok(ParsedItem { condition, update })
}

#[derive(Default)]
struct Used {
    names: HashSet<String>,
    values: HashSet<String>,
}

/// An operand: an attribute of the item, or a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Attribute(String),
    Value(AttributeValue),
}

impl Operand {
    fn resolve<'a>(&'a self, item: &'a Item) -> Option<&'a AttributeValue> {
        match self {
            Operand::Attribute(name) => item.get(name),
            Operand::Value(value) => Some(value),
        }
    }
}

/// A condition expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Exists {
        attribute: String,
        exists: bool,
    },
    Compare {
        left: Operand,
        operator: Operator,
        right: Vec<Operand>,
    },
}

impl Cond {
    /// Whether `item` (empty when there is no item) satisfies the condition.
    pub fn holds(&self, item: &Item) -> bool {
        match self {
            Cond::And(a, b) => a.holds(item) && b.holds(item),
            Cond::Or(a, b) => a.holds(item) || b.holds(item),
            Cond::Not(a) => !a.holds(item),
            Cond::Exists { attribute, exists } => item.contains_key(attribute) == *exists,
            Cond::Compare {
                left,
                operator,
                right,
            } => {
                let Some(right) = right
                    .iter()
                    .map(|r| r.resolve(item).cloned())
                    .collect::<Option<Vec<_>>>()
                else {
                    // A missing attribute on the right: nothing to compare with.
                    return *operator == Operator::Ne;
                };
                // plan::Condition has DynamoDB's comparison rules; give it the left operand
                // under a name no attribute has.
                const LEFT: &str = "\u{0}left";
                let mut probe = Item::with_capacity(1);
                if let Some(value) = left.resolve(item) {
                    probe.insert(LEFT.to_owned(), value.clone());
                }
                Condition::new(LEFT, *operator, right).matches(&probe)
            }
        }
    }
}

/// The right-hand side of a `SET` action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetValue {
    One(Term),
    Plus(Term, Term),
    Minus(Term, Term),
}

/// An operand of a `SET` value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    Operand(Operand),
    IfNotExists(String, Operand),
}

/// An update expression.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct UpdateExpr {
    set: Vec<(String, SetValue)>,
    remove: Vec<String>,
    add: Vec<(String, AttributeValue)>,
    delete: Vec<(String, AttributeValue)>,
}

impl UpdateExpr {
    /// The item after the update: `old` (or just the key when there is none) with the
    /// actions applied; every right-hand side reads `old`, as on DynamoDB. `Err` says why
    /// DynamoDB would refuse it.
    pub fn apply(&self, old: Option<&Item>, key: &Item) -> std::result::Result<Item, String> {
        let base = old.cloned().unwrap_or_else(|| key.clone());
        let mut new = base.clone();
        for (name, value) in &self.set {
            let value = match value {
                SetValue::One(term) => term_value(term, &base)?,
                SetValue::Plus(a, b) => {
                    arithmetic(term_value(a, &base)?, term_value(b, &base)?, false)?
                }
                SetValue::Minus(a, b) => {
                    arithmetic(term_value(a, &base)?, term_value(b, &base)?, true)?
                }
            };
            new.insert(name.clone(), value);
        }
        for name in &self.remove {
            new.remove(name);
        }
        for (name, value) in &self.add {
            new.insert(name.clone(), added(name, base.get(name), value)?);
        }
        for (name, value) in &self.delete {
            let old = base.get(name);
            match remaining_after_delete(name, old, value)? {
                Some(value) => new.insert(name.clone(), value),
                None if old.is_some() => new.remove(name),
                None => None, // nothing to delete from
            };
        }
        Ok(new)
    }
}

/// `ADD name value`: a number added to the old one (or set as is), a set united with the old one.
fn added(
    name: &str,
    old: Option<&AttributeValue>,
    value: &AttributeValue,
) -> std::result::Result<AttributeValue, String> {
    Ok(match (old, value) {
        (
            None,
            AttributeValue::N(_)
            | AttributeValue::Ss(_)
            | AttributeValue::Ns(_)
            | AttributeValue::Bs(_),
        ) => value.clone(),
        (Some(AttributeValue::N(a)), AttributeValue::N(b)) => {
            AttributeValue::N(add_numbers(a, b, false).ok_or_else(|| too_large(a, b))?)
        }
        (Some(AttributeValue::Ss(a)), AttributeValue::Ss(b)) => {
            AttributeValue::Ss(union(a, b, |x, y| x == y))
        }
        (Some(AttributeValue::Ns(a)), AttributeValue::Ns(b)) => {
            AttributeValue::Ns(union(a, b, |x, y| {
                add_numbers(x, y, true).is_some_and(|d| d == "0")
            }))
        }
        (Some(AttributeValue::Bs(a)), AttributeValue::Bs(b)) => {
            AttributeValue::Bs(union(a, b, |x, y| x == y))
        }
        _ => {
            return Err(format!(
                "ADD `{name}`: an operand in the update expression has an incorrect data type \
                 (ADD takes a number, or a set of the attribute's type)"
            ))
        }
    })
}

/// `DELETE name set`: what is left of the old set (`None`: nothing, the attribute goes).
fn remaining_after_delete(
    name: &str,
    old: Option<&AttributeValue>,
    value: &AttributeValue,
) -> std::result::Result<Option<AttributeValue>, String> {
    Ok(match (old, value) {
        (None, AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)) => None,
        (Some(AttributeValue::Ss(a)), AttributeValue::Ss(b)) => {
            let left: Vec<String> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
            (!left.is_empty()).then_some(AttributeValue::Ss(left))
        }
        (Some(AttributeValue::Ns(a)), AttributeValue::Ns(b)) => {
            let same = |x: &String, y: &String| add_numbers(x, y, true).is_some_and(|d| d == "0");
            let left: Vec<String> = a
                .iter()
                .filter(|x| !b.iter().any(|y| same(x, y)))
                .cloned()
                .collect();
            (!left.is_empty()).then_some(AttributeValue::Ns(left))
        }
        (Some(AttributeValue::Bs(a)), AttributeValue::Bs(b)) => {
            let left: Vec<_> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
            (!left.is_empty()).then_some(AttributeValue::Bs(left))
        }
        _ => {
            return Err(format!(
                "DELETE `{name}`: an operand in the update expression has an incorrect data type \
                 (DELETE takes a set of the attribute's type)"
            ))
        }
    })
}

fn union<T: Clone>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut out = a.to_vec();
    for y in b {
        if !out.iter().any(|x| same(x, y)) {
            out.push(y.clone());
        }
    }
    out
}

fn term_value(term: &Term, item: &Item) -> std::result::Result<AttributeValue, String> {
    let operand = match term {
        Term::Operand(operand) => operand,
        Term::IfNotExists(name, fallback) => match item.get(name) {
            Some(value) => return Ok(value.clone()),
            None => fallback,
        },
    };
    match operand.resolve(item) {
        Some(value) => Ok(value.clone()),
        None => Err(format!(
            "the update expression refers to an attribute that does not exist in the item: `{}`",
            match operand {
                Operand::Attribute(name) => name.as_str(),
                Operand::Value(_) => "?",
            }
        )),
    }
}

fn arithmetic(
    a: AttributeValue,
    b: AttributeValue,
    subtract: bool,
) -> std::result::Result<AttributeValue, String> {
    match (&a, &b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => add_numbers(x, y, subtract)
            .map(AttributeValue::N)
            .ok_or_else(|| too_large(x, y)),
        _ => Err("an operand in the update expression has an incorrect data type: `+` and `-` take numbers".to_owned()),
    }
}

fn too_large(a: &str, b: &str) -> String {
    format!("test mode cannot add {a} and {b} exactly (more than 38 digits)")
}

/// A decimal number as an integer mantissa and a count of decimal places.
fn parse_decimal(text: &str) -> Option<(i128, u32)> {
    let text = text.trim();
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut m: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        m = m.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exponent);
    if scale < 0 {
        m = m.checked_mul(10i128.checked_pow(u32::try_from(-scale).ok()?)?)?;
        scale = 0;
    }
    Some((if negative { -m } else { m }, u32::try_from(scale).ok()?))
}

/// `a + b` (or `a - b`), exactly; `None` beyond i128.
fn add_numbers(a: &str, b: &str, subtract: bool) -> Option<String> {
    let (ma, sa) = parse_decimal(a)?;
    let (mb, sb) = parse_decimal(b)?;
    let scale = sa.max(sb);
    let ma = ma.checked_mul(10i128.checked_pow(scale - sa)?)?;
    let mb = mb.checked_mul(10i128.checked_pow(scale - sb)?)?;
    let sum = if subtract {
        ma.checked_sub(mb)?
    } else {
        ma.checked_add(mb)?
    };
    Some(format_decimal(sum, scale))
}

fn format_decimal(m: i128, scale: u32) -> String {
    let digits = m.unsigned_abs().to_string();
    let scale = scale as usize;
    let body = if scale == 0 {
        digits
    } else {
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
        } else {
            digits
        };
        let (int, frac) = padded.split_at(padded.len() - scale);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            int.to_owned()
        } else {
            format!("{int}.{frac}")
        }
    };
    if m < 0 && body != "0" {
        format!("-{body}")
    } else {
        body
    }
}

// ---------------------------------------------------------------------------------------
// Tokens and parsing.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Name(String),
    Value(String),
    LParen,
    RParen,
    Comma,
    Cmp(Operator),
    Plus,
    Minus,
    Dot,
    LBracket,
    RBracket,
}

fn tokenize(text: &str) -> std::result::Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let word = |start: usize| {
        let mut end = start;
        while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
            end += 1;
        }
        (chars[start..end].iter().collect::<String>(), end)
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => (tokens.push(Token::LParen), i += 1).1,
            ')' => (tokens.push(Token::RParen), i += 1).1,
            ',' => (tokens.push(Token::Comma), i += 1).1,
            '+' => (tokens.push(Token::Plus), i += 1).1,
            '-' => (tokens.push(Token::Minus), i += 1).1,
            '.' => (tokens.push(Token::Dot), i += 1).1,
            '[' => (tokens.push(Token::LBracket), i += 1).1,
            ']' => (tokens.push(Token::RBracket), i += 1).1,
            '=' => (tokens.push(Token::Cmp(Operator::Eq)), i += 1).1,
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('<', Some('>')) => (Operator::Ne, 2),
                    ('<', Some('=')) => (Operator::Le, 2),
                    ('>', Some('=')) => (Operator::Ge, 2),
                    ('<', _) => (Operator::Lt, 1),
                    _ => (Operator::Gt, 1),
                };
                tokens.push(Token::Cmp(op));
                i += len;
            }
            '#' | ':' => {
                let (name, end) = word(i + 1);
                if name.is_empty() {
                    return Err(format!("`{c}` must be followed by a placeholder name"));
                }
                tokens.push(if c == '#' {
                    Token::Name(format!("#{name}"))
                } else {
                    Token::Value(format!(":{name}"))
                });
                i = end;
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let (w, end) = word(i);
                tokens.push(Token::Word(w));
                i = end;
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    item: &'a TransactItem,
    used: &'a mut Used,
}

const UNSUPPORTED_HINT: &str =
    "test mode supports top-level attributes, comparisons, BETWEEN, IN, \
     attribute_exists, attribute_not_exists, begins_with, contains, AND/OR/NOT, and SET (with + - \
     if_not_exists) / REMOVE / ADD / DELETE";

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.tokens.get(self.pos + offset)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, token: Token, what: &str) -> std::result::Result<(), String> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            Some(t) => Err(format!("expected {what}, found {t:?}")),
            None => Err(format!("expected {what}, found the end")),
        }
    }

    fn resolve_name(&mut self, placeholder: &str) -> std::result::Result<String, String> {
        self.used.names.insert(placeholder.to_owned());
        self.item.names.get(placeholder).cloned().ok_or_else(|| {
            format!("the name placeholder {placeholder} is not defined (add it with .name(..))")
        })
    }

    fn resolve_value(&mut self, placeholder: &str) -> std::result::Result<AttributeValue, String> {
        self.used.values.insert(placeholder.to_owned());
        self.item.values.get(placeholder).cloned().ok_or_else(|| {
            format!("the value placeholder {placeholder} is not defined (add it with .value(..))")
        })
    }

    /// A top-level attribute: `name` or `#placeholder`, not followed by `.` or `[`.
    fn path(&mut self) -> std::result::Result<String, String> {
        let name = match self.next() {
            Some(Token::Word(w)) => w,
            Some(Token::Name(n)) => self.resolve_name(&n)?,
            Some(t) => return Err(format!("expected an attribute name, found {t:?}")),
            None => return Err("expected an attribute name, found the end".to_owned()),
        };
        if matches!(self.peek(), Some(Token::Dot | Token::LBracket)) {
            return Err(format!(
                "nested attribute paths (`{name}.…`, `{name}[…]`) are not supported in test mode ({UNSUPPORTED_HINT})"
            ));
        }
        Ok(name)
    }

    fn operand(&mut self) -> std::result::Result<Operand, String> {
        match self.peek() {
            Some(Token::Value(v)) => {
                let v = v.clone();
                self.pos += 1;
                Ok(Operand::Value(self.resolve_value(&v)?))
            }
            Some(Token::Word(w)) if matches!(self.peek_at(1), Some(Token::LParen)) => Err(format!(
                "the function `{w}(..)` is not supported as an operand in test mode ({UNSUPPORTED_HINT})"
            )),
            _ => Ok(Operand::Attribute(self.path()?)),
        }
    }

    fn value_placeholder(&mut self) -> std::result::Result<AttributeValue, String> {
        match self.next() {
            Some(Token::Value(v)) => self.resolve_value(&v),
            other => Err(format!("expected a :value placeholder, found {other:?}")),
        }
    }

    // Conditions: or := and (OR and)*; and := not (AND not)*; not := NOT not | primary.
    fn or(&mut self) -> std::result::Result<Cond, String> {
        let mut left = self.and()?;
        while self.is_word("OR") {
            self.pos += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> std::result::Result<Cond, String> {
        let mut left = self.not()?;
        while self.is_word("AND") {
            self.pos += 1;
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> std::result::Result<Cond, String> {
        if self.is_word("NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> std::result::Result<Cond, String> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Token::RParen, "`)`")?;
            return Ok(inner);
        }
        if let (Some(Token::Word(function)), Some(Token::LParen)) = (self.peek(), self.peek_at(1)) {
            let function = function.to_ascii_lowercase();
            self.pos += 2;
            let cond = self.function_call(&function)?;
            self.expect(Token::RParen, "`)`")?;
            return Ok(cond);
        }
        let left = self.operand()?;
        self.comparison(left)
    }

    /// The arguments of a condition function, after `name(`.
    fn function_call(&mut self, function: &str) -> std::result::Result<Cond, String> {
        match function {
            "attribute_exists" | "attribute_not_exists" => Ok(Cond::Exists {
                attribute: self.path()?,
                exists: function == "attribute_exists",
            }),
            "begins_with" | "contains" => {
                let left = Operand::Attribute(self.path()?);
                self.expect(Token::Comma, "`,`")?;
                let right = self.operand()?;
                let operator = if function == "contains" {
                    Operator::Contains
                } else {
                    Operator::BeginsWith
                };
                Ok(Cond::Compare {
                    left,
                    operator,
                    right: vec![right],
                })
            }
            other => Err(format!(
                "the function `{other}(..)` is not supported in test mode ({UNSUPPORTED_HINT})"
            )),
        }
    }

    /// What follows a condition's left operand: a comparison, `BETWEEN .. AND ..` or `IN (..)`.
    fn comparison(&mut self, left: Operand) -> std::result::Result<Cond, String> {
        match self.next() {
            Some(Token::Cmp(operator)) => Ok(Cond::Compare {
                left,
                operator,
                right: vec![self.operand()?],
            }),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("BETWEEN") => {
                let low = self.operand()?;
                if !self.is_word("AND") {
                    return Err("expected AND in BETWEEN .. AND ..".to_owned());
                }
                self.pos += 1;
                let high = self.operand()?;
                Ok(Cond::Compare {
                    left,
                    operator: Operator::Between,
                    right: vec![low, high],
                })
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("IN") => {
                self.expect(Token::LParen, "`(` after IN")?;
                let mut right = vec![self.operand()?];
                while self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                    right.push(self.operand()?);
                }
                self.expect(Token::RParen, "`)`")?;
                if right.len() > 100 {
                    return Err("IN takes at most 100 values".to_owned());
                }
                Ok(Cond::Compare {
                    left,
                    operator: Operator::In,
                    right,
                })
            }
            other => Err(format!(
                "expected a comparison (=, <>, <, <=, >, >=, BETWEEN, IN) after an operand, found {}",
                other.map_or("the end".to_owned(), |t| format!("{t:?}"))
            )),
        }
    }

    fn term(&mut self) -> std::result::Result<Term, String> {
        if let (Some(Token::Word(function)), Some(Token::LParen)) = (self.peek(), self.peek_at(1)) {
            if !function.eq_ignore_ascii_case("if_not_exists") {
                return Err(format!(
                    "the function `{function}(..)` is not supported in test mode ({UNSUPPORTED_HINT})"
                ));
            }
            self.pos += 2;
            let name = self.path()?;
            self.expect(Token::Comma, "`,`")?;
            let fallback = self.operand()?;
            self.expect(Token::RParen, "`)`")?;
            return Ok(Term::IfNotExists(name, fallback));
        }
        Ok(Term::Operand(self.operand()?))
    }

    fn update(&mut self) -> std::result::Result<UpdateExpr, String> {
        let mut update = UpdateExpr::default();
        let mut clauses = HashSet::new();
        while let Some(token) = self.next() {
            let Token::Word(clause) = token else {
                return Err(format!(
                    "expected SET, REMOVE, ADD or DELETE, found {token:?}"
                ));
            };
            let clause = clause.to_ascii_uppercase();
            if !clauses.insert(clause.clone()) {
                return Err(format!("the {clause} clause may appear only once"));
            }
            loop {
                match clause.as_str() {
                    "SET" => {
                        let name = self.path()?;
                        self.expect(Token::Cmp(Operator::Eq), "`=`")?;
                        let first = self.term()?;
                        let value = match self.peek() {
                            Some(Token::Plus) => {
                                self.pos += 1;
                                SetValue::Plus(first, self.term()?)
                            }
                            Some(Token::Minus) => {
                                self.pos += 1;
                                SetValue::Minus(first, self.term()?)
                            }
                            _ => SetValue::One(first),
                        };
                        update.set.push((name, value));
                    }
                    "REMOVE" => update.remove.push(self.path()?),
                    "ADD" => {
                        let name = self.path()?;
                        update.add.push((name, self.value_placeholder()?));
                    }
                    "DELETE" => {
                        let name = self.path()?;
                        update.delete.push((name, self.value_placeholder()?));
                    }
                    other => {
                        return Err(format!(
                            "expected SET, REMOVE, ADD or DELETE, found `{other}`"
                        ))
                    }
                }
                if self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        if clauses.is_empty() {
            return Err("the update expression is empty".to_owned());
        }
        let mut seen = HashSet::new();
        let paths = update
            .set
            .iter()
            .map(|(n, _)| n)
            .chain(&update.remove)
            .chain(update.add.iter().map(|(n, _)| n))
            .chain(update.delete.iter().map(|(n, _)| n));
        for name in paths {
            if !seen.insert(name.clone()) {
                return Err(format!(
                    "two actions update `{name}` (DynamoDB: two document paths overlap)"
                ));
            }
            if self.item.key_schema.contains(name) {
                return Err(format!("`{name}` is part of the key and cannot be updated"));
            }
        }
        Ok(update)
    }
}

fn expression_error(kind: &str, text: &str, item: &TransactItem, reason: String) -> Error {
    Error::InvalidTransaction {
        reason: format!(
            "the {kind} expression {text:?} of a {} on `{}`: {reason}",
            item.action.name(),
            item.table
        ),
    }
}

fn parse_condition(text: &str, item: &TransactItem, used: &mut Used) -> Result<Cond> {
    let error = |reason| expression_error("condition", text, item, reason);
    let tokens = tokenize(text).map_err(error)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        item,
        used,
    };
    let cond = parser.or().map_err(error)?;
    if let Some(rest) = parser.peek() {
        return Err(error(format!("unexpected {rest:?} after the condition")));
    }
    Ok(cond)
}

fn parse_update(text: &str, item: &TransactItem, used: &mut Used) -> Result<UpdateExpr> {
    let error = |reason| expression_error("update", text, item, reason);
    let tokens = tokenize(text).map_err(error)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        item,
        used,
    };
    parser.update().map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.to_owned())
    }
    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    use super::super::transact::KeySchema;

    fn update_item(
        update: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> TransactItem {
        TransactItem {
            table: "accounts".to_owned(),
            key_schema: KeySchema {
                partition_key: "id".to_owned(),
                sort_key: None,
            },
            action: TransactAction::Update {
                key: [("id".to_owned(), s("a"))].into_iter().collect(),
                update_expression: update.to_owned(),
            },
            condition: condition.map(str::to_owned),
            names: names
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            return_item_on_failure: false,
        }
    }

    fn account(balance: &str) -> Item {
        [
            ("id".to_owned(), s("a")),
            ("balance".to_owned(), n(balance)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn conditions_evaluate_like_dynamodb() {
        let item = update_item(
            "SET #b = #b - :amount",
            Some("attribute_exists(id) AND #b >= :amount AND NOT (#b BETWEEN :lo AND :hi) OR #b IN (:x)"),
            &[("#b", "balance")],
            &[(":amount", n("5")), (":lo", n("100")), (":hi", n("200")), (":x", n("-1"))],
        );
        let parsed = parse_item(&item).unwrap();
        let cond = parsed.condition.unwrap();
        assert!(cond.holds(&account("10")));
        assert!(!cond.holds(&account("4")), "not enough");
        assert!(!cond.holds(&account("150")), "in the excluded range");
        assert!(cond.holds(&account("-1")), "the OR branch");
        assert!(!cond.holds(&Item::new()), "no item");

        let updated = parsed
            .update
            .unwrap()
            .apply(Some(&account("10.5")), &Item::new())
            .unwrap();
        assert_eq!(updated["balance"], n("5.5"));
    }

    #[test]
    fn updates_set_add_remove_delete() {
        let item = update_item(
            "SET total = if_not_exists(total, :zero) + :one, note = :note REMOVE old ADD tags :t, visits :one DELETE gone :g",
            None,
            &[],
            &[
                (":zero", n("0")),
                (":one", n("1")),
                (":note", s("hi")),
                (":t", AttributeValue::Ss(vec!["x".into(), "y".into()])),
                (":g", AttributeValue::Ss(vec!["p".into()])),
            ],
        );
        let update = parse_item(&item).unwrap().update.unwrap();
        let key: Item = [("id".to_owned(), s("a"))].into_iter().collect();
        let created = update.apply(None, &key).unwrap();
        assert_eq!(created["total"], n("1"));
        assert_eq!(created["visits"], n("1"));
        assert_eq!(created["note"], s("hi"));
        assert_eq!(
            created["tags"],
            AttributeValue::Ss(vec!["x".into(), "y".into()])
        );
        assert!(!created.contains_key("gone"));

        let mut old = created.clone();
        old.insert("old".into(), s("bye"));
        old.insert("gone".into(), AttributeValue::Ss(vec!["p".into()]));
        old.insert(
            "tags".into(),
            AttributeValue::Ss(vec!["y".into(), "z".into()]),
        );
        let again = update.apply(Some(&old), &key).unwrap();
        assert_eq!(again["total"], n("2"));
        assert_eq!(again["visits"], n("2"));
        assert!(!again.contains_key("old"));
        assert!(!again.contains_key("gone"), "an emptied set is removed");
        assert_eq!(
            again["tags"],
            AttributeValue::Ss(vec!["y".into(), "z".into(), "x".into()])
        );
    }

    #[test]
    fn what_is_not_supported_is_refused_by_name() {
        let refused = |update: &str, condition: Option<&str>| {
            let item = update_item(update, condition, &[], &[(":v", n("1"))]);
            parse_item(&item).unwrap_err().to_string()
        };
        assert!(refused("SET a = :v", Some("size(a) > :v")).contains("`size(..)`"));
        assert!(refused("SET a.b = :v", None).contains("nested attribute paths"));
        assert!(refused("SET a = list_append(a, :v)", None).contains("`list_append(..)`"));
        assert!(refused("SET id = :v", None).contains("part of the key"));
        assert!(refused("SET a = :v, a = :v", None).contains("overlap"));
        assert!(refused("SET a = :w", None).contains(":w is not defined"));
        let unused = update_item("SET a = :v", None, &[("#x", "x")], &[(":v", n("1"))]);
        assert!(parse_item(&unused).unwrap_err().to_string().contains("#x"));
    }

    #[test]
    fn update_type_errors_are_reported() {
        let item = update_item("SET a = a + :v", None, &[], &[(":v", n("1"))]);
        let update = parse_item(&item).unwrap().update.unwrap();
        let old: Item = [("id".to_owned(), s("a")), ("a".to_owned(), s("text"))]
            .into_iter()
            .collect();
        assert!(update
            .apply(Some(&old), &Item::new())
            .unwrap_err()
            .contains("incorrect data type"));
        assert!(update
            .apply(None, &Item::new())
            .unwrap_err()
            .contains("does not exist"));
    }

    #[test]
    fn decimal_arithmetic_is_exact() {
        assert_eq!(add_numbers("0.1", "0.2", false).unwrap(), "0.3");
        assert_eq!(add_numbers("10", "10.5", true).unwrap(), "-0.5");
        assert_eq!(add_numbers("1e3", "1", false).unwrap(), "1001");
        assert_eq!(add_numbers("-5", "5", false).unwrap(), "0");
        assert_eq!(
            add_numbers("99999999999999999999999999999999999999", "1", false).unwrap(),
            "100000000000000000000000000000000000000"
        );
        assert_eq!(add_numbers("1.50", "0.5", false).unwrap(), "2");
    }
}
