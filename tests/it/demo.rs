//! The demo's own pieces.

use stepline::demo::wide_definition;

#[test]
fn the_wide_pipeline_is_a_valid_definition_of_over_300_steps() {
    let def = stepline_definition::parse(&wide_definition(60, 5)).unwrap();
    assert!(def.steps.len() >= 300, "{}", def.steps.len());
    let graph = stepline_definition::Graph::new(&def);
    let merge = def.index_of("Merge").unwrap();
    assert_eq!(graph.upstream(merge).len(), 60);
}
