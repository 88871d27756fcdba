//! Models trained on datasets. So far: logistic regression on raw pixels, the baseline
//! that measures how hard a dataset is for a model that cannot look for local patterns.

pub mod logistic;
