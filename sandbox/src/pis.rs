//! Payment Initiation v7 under `/pis/v7/identified2` (and funds confirmation).
