//! A small, bounded DOM over quick-xml: local names, text, attributes. No DTDs, no entity
//! expansion beyond the five predefined ones, a depth and node limit, so an XML bomb or a
//! DOCTYPE is an error and not a guess.

use crate::ExtractError;
use quick_xml::events::Event;
use quick_xml::Reader;

const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;

#[derive(Debug, Default, Clone)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

/// Parses `bytes` into a tree. DOCTYPE, too deep or too large documents, and malformed XML are
/// `ExtractError::Xml`.
pub fn parse(bytes: &[u8]) -> Result<Node, ExtractError> {
    let err = |m: String| ExtractError::Xml(m);
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut count = 0usize;
    let mut buf = Vec::new();
    loop {
        let ev = reader.read_event_into(&mut buf).map_err(|e| {
            err(format!(
                "malformed XML at byte {}: {e}",
                reader.buffer_position()
            ))
        })?;
        match ev {
            Event::DocType(_) => {
                return Err(err(
                    "DOCTYPE declarations are refused (no DTDs or entities in e-invoices)".into(),
                ))
            }
            Event::Start(e) => {
                count += 1;
                if count > MAX_NODES {
                    return Err(err(format!("more than {MAX_NODES} elements")));
                }
                if stack.len() > MAX_DEPTH {
                    return Err(err(format!("nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_NODES {
                    return Err(err(format!("more than {MAX_NODES} elements")));
                }
                let node = element(&e)?;
                stack.last_mut().expect("root").children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().expect("balanced");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Err(err("unbalanced end tag".into())),
                }
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|e| err(format!("bad text or entity: {e}")))?;
                if let Some(n) = stack.last_mut() {
                    if n.text.len() + text.len() > 1_000_000 {
                        return Err(err("text node too large".into()));
                    }
                    n.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if stack.len() != 1 {
        return Err(err("truncated XML: elements left open".into()));
    }
    let mut root = stack.pop().expect("root");
    if root.children.len() != 1 {
        return Err(err("an XML document has exactly one root element".into()));
    }
    Ok(root.children.remove(0))
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Node, ExtractError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| ExtractError::Xml(format!("bad attribute: {e}")))?;
        let v = a
            .unescape_value()
            .map_err(|e| ExtractError::Xml(format!("bad attribute value: {e}")))?;
        attrs.push((local(a.key.as_ref()), v.into_owned()));
    }
    Ok(Node {
        name: local(e.name().as_ref()),
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The node at a `/`-separated path of local names below this one.
    pub fn at(&self, path: &str) -> Option<&Node> {
        let mut n = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n.child(part)?;
        }
        Some(n)
    }

    /// The trimmed, non-empty text at `path`.
    pub fn text_at(&self, path: &str) -> Option<String> {
        self.at(path)
            .map(|n| n.text.trim().to_string())
            .filter(|t| !t.is_empty())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
