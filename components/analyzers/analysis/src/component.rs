//! The `frameflow:analyzer/analyzer-component` world, and the glue that exports an
//! [`Analyzer`] as it: `frameflow_analysis::export_analyzer!(AreaIntrusion);` keeps one
//! value of the analyzer for the instance's life (the host keeps one instance per task).

use crate::analyzers::Analyzer;
use crate::model;

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "frameflow:analyzer/analyzer-component",
        pub_export_macro: true,
        generate_all,
    });
}

use bindings::frameflow::analyzer::types as wit;

fn to_model_box(b: wit::Bbox) -> model::BBox {
    model::BBox { x: b.x, y: b.y, width: b.width, height: b.height }
}

fn to_wit_box(b: model::BBox) -> wit::Bbox {
    wit::Bbox { x: b.x, y: b.y, width: b.width, height: b.height }
}

/// `configure` for the export.
pub fn configure<A: Analyzer>(analyzer: &mut A, params_json: &str, width: u32, height: u32) -> Result<wit::Needs, wit::ConfigError> {
    match analyzer.configure(params_json, width, height) {
        Ok(n) => {
            let mut needs = wit::Needs::empty();
            for (on, flag) in [(n.motion, wit::Needs::MOTION), (n.faces, wit::Needs::FACES), (n.people, wit::Needs::PEOPLE), (n.scene, wit::Needs::SCENE)] {
                if on {
                    needs |= flag;
                }
            }
            Ok(needs)
        }
        Err(e) => Err(wit::ConfigError { param: e.param, message: format!("{}: {}", A::NAME, e.message) }),
    }
}

/// `analyze` for the export.
pub fn analyze<A: Analyzer>(analyzer: &mut A, observation: wit::Observation) -> Vec<wit::Event> {
    let observation = model::Observation {
        index: observation.frame.index,
        time: observation.frame.time,
        objects: observation
            .objects
            .into_iter()
            .map(|o| model::Object { id: o.id, kind: o.kind, bbox: to_model_box(o.bbox), confidence: o.confidence })
            .collect(),
        scene_score: observation.scene_score,
    };
    analyzer
        .analyze(&observation)
        .into_iter()
        .map(|e| wit::Event {
            object_id: e.object_id,
            bbox: e.bbox.map(to_wit_box),
            persistence: match e.persistence {
                model::Persistence::Presence => wit::Persistence::Presence,
                model::Persistence::Instant => wit::Persistence::Instant,
            },
            label: e.label,
            extend_json: if e.extend.is_null() { String::new() } else { e.extend.to_string() },
        })
        .collect()
}

/// Exports an [`Analyzer`] as this component's `frameflow:analyzer/analyzer`:
/// `frameflow_analysis::export_analyzer!(AreaIntrusion);`
#[macro_export]
macro_rules! export_analyzer {
    ($analyzer:ident) => {
        struct Component;

        std::thread_local! {
            static STATE: std::cell::RefCell<$crate::$analyzer> = std::cell::RefCell::new(<$crate::$analyzer as Default>::default());
        }

        impl $crate::component::bindings::exports::frameflow::analyzer::analyzer::Guest for Component {
            fn configure(
                params_json: String,
                width: u32,
                height: u32,
            ) -> Result<$crate::component::bindings::frameflow::analyzer::types::Needs, $crate::component::bindings::frameflow::analyzer::types::ConfigError> {
                STATE.with(|s| $crate::component::configure(&mut *s.borrow_mut(), &params_json, width, height))
            }

            fn analyze(
                observation: $crate::component::bindings::frameflow::analyzer::types::Observation,
            ) -> Vec<$crate::component::bindings::frameflow::analyzer::types::Event> {
                STATE.with(|s| $crate::component::analyze(&mut *s.borrow_mut(), observation))
            }

            fn save() -> Vec<u8> {
                STATE.with(|s| $crate::Analyzer::save(&*s.borrow()))
            }

            fn restore(state: Vec<u8>) -> Result<(), String> {
                STATE.with(|s| $crate::Analyzer::restore(&mut *s.borrow_mut(), &state))
            }
        }

        $crate::component::bindings::export!(Component with_types_in $crate::component::bindings);
    };
}
