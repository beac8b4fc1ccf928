//! SEB / Berlin Group NextGenPSD2 data model.
