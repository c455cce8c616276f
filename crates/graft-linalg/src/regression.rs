//! Regressors on feature matrices (the weak learners of TrAdaBoostR2).
