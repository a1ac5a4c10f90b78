//! Compile-time checks of `#[derive(Storable)]`: every mistake is one clear, spanned error.

#[test]
fn derive_errors_are_spanned_and_clear() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/derive/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
