//! Compile-time checks of the generated query builder: a value of the wrong type, or an
//! operator that does not apply to the field's type, does not compile.

#[test]
fn query_conditions_are_type_checked() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/query/*.rs");
}
