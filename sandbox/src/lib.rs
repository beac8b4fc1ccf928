//! An offline bank that behaves like SEB's PSD2 sandbox.
