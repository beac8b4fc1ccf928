//! Account Information v7 under `/ais/v7/identified2`.
