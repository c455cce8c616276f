//! Boosting across domains: TrAdaBoost and its regression variants.
