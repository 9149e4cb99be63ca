//! Names every stage shares, each with one owner: the health components the catalog,
//! the explanations, the at-risk list and the health score speak of, and the model
//! families the configuration, training and the model folder name.

use serde::{Deserialize, Serialize};

/// The health components CS teams score, in the order reports show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Adoption,
    Support,
    Sentiment,
    Relationship,
    Commercial,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Adoption,
        Component::Support,
        Component::Sentiment,
        Component::Relationship,
        Component::Commercial,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Adoption => "adoption",
            Component::Support => "support",
            Component::Sentiment => "sentiment",
            Component::Relationship => "relationship",
            Component::Commercial => "commercial",
        }
    }
}

/// The model families churnlab trains, in order of simplicity (the champion rule prefers
/// the simpler of near-ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Logistic,
    DecisionTree,
    RandomForest,
    GradientBoosting,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Logistic,
        Family::DecisionTree,
        Family::RandomForest,
        Family::GradientBoosting,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Logistic => "logistic",
            Family::DecisionTree => "decision_tree",
            Family::RandomForest => "random_forest",
            Family::GradientBoosting => "gradient_boosting",
        }
    }
}
