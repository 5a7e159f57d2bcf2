"""Clinical rules as pure, parameterised functions with literature defaults."""
