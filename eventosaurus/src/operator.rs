//! The comparison operators of DynamoDB's condition expressions, as plain data.
//!
//! At the bottom of the crate (it imports nothing from it), so that errors can name the
//! operator of a refused condition; [`query`](crate::query) and [`plan`](crate::plan)
//! re-export it.

use serde::Serialize;

/// A comparison DynamoDB can evaluate on one attribute.
///
/// Only [`Eq`](Operator::Eq), [`Lt`](Operator::Lt), [`Le`](Operator::Le), [`Gt`](Operator::Gt),
/// [`Ge`](Operator::Ge), [`Between`](Operator::Between) and [`BeginsWith`](Operator::BeginsWith)
/// are allowed on a range key in a key condition (and only `Eq` on a partition key); the
/// others always become a FilterExpression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    /// Equal (`=`).
    Eq,
    /// Not equal (`<>`). True when the attribute is missing or of another type.
    Ne,
    /// Equal to one of up to 100 values (`IN (..)`).
    In,
    /// Less than or equal (`<=`).
    Le,
    /// Less than (`<`).
    Lt,
    /// Greater than or equal (`>=`).
    Ge,
    /// Greater than (`>`).
    Gt,
    /// A substring of a string, or an element of a set or list (`contains(..)`).
    Contains,
    /// Not [`Contains`](Operator::Contains) (`NOT contains(..)`). True when the attribute is missing.
    NotContains,
    /// A prefix of a string (`begins_with(..)`).
    BeginsWith,
    /// Between two values, both included (`BETWEEN .. AND ..`).
    Between,
}

impl Operator {
    /// Every operator, in declaration order.
    pub const ALL: [Operator; 11] = [
        Operator::Eq,
        Operator::Ne,
        Operator::In,
        Operator::Le,
        Operator::Lt,
        Operator::Ge,
        Operator::Gt,
        Operator::Contains,
        Operator::NotContains,
        Operator::BeginsWith,
        Operator::Between,
    ];

    /// Whether DynamoDB accepts this operator on a range key in a KeyConditionExpression.
    pub fn allowed_on_range_key(self) -> bool {
        matches!(
            self,
            Operator::Eq
                | Operator::Lt
                | Operator::Le
                | Operator::Gt
                | Operator::Ge
                | Operator::Between
                | Operator::BeginsWith
        )
    }

    /// How many values the operator takes: `(min, max)`. `IN` takes 1 to 100.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Operator::Between => (2, 2),
            Operator::In => (1, 100),
            _ => (1, 1),
        }
    }

    /// The operator's name as the DynamoDB documentation spells it, e.g. `BEGINS_WITH`.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "EQ",
            Operator::Ne => "NE",
            Operator::In => "IN",
            Operator::Le => "LE",
            Operator::Lt => "LT",
            Operator::Ge => "GE",
            Operator::Gt => "GT",
            Operator::Contains => "CONTAINS",
            Operator::NotContains => "NOT_CONTAINS",
            Operator::BeginsWith => "BEGINS_WITH",
            Operator::Between => "BETWEEN",
        }
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
