//! The guide's marked blocks: HTML comments in a chapter's Markdown, invisible on a repository
//! browser and in the rendered book, that name a scenario file and what to generate or check.

use std::fmt;

/// What a block generates or checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BlockKind {
    /// The scenario file, verbatim.
    Scenario,
    /// A run's verdict, expectations, cost, timeline picture and optional story.
    Run,
    /// A statement of the prose, checked against the run (no generated text).
    Claim,
}

impl BlockKind {
    const ALL: [BlockKind; 3] = [BlockKind::Scenario, BlockKind::Run, BlockKind::Claim];

    fn name(self) -> &'static str {
        match self {
            BlockKind::Scenario => "scenario",
            BlockKind::Run => "run",
            BlockKind::Claim => "claim",
        }
    }

    /// Whether the block encloses generated text up to its closing comment.
    fn is_paired(self) -> bool {
        self != BlockKind::Claim
    }

    fn closing(self) -> String {
        format!("<!-- /qsim:{} -->", self.name())
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One marked block of a chapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Block {
    pub(super) kind: BlockKind,
    /// The scenario file, relative to the repository root (`scenarios.d/dup.toml`).
    pub(super) file: String,
    /// `key=value` arguments after the file, in order.
    pub(super) arguments: Vec<(String, String)>,
    /// 1-based line of the opening comment.
    pub(super) line: usize,
    /// Byte range of the generated text (after the opening comment's line, up to the closing
    /// comment); empty for claims.
    pub(super) body: std::ops::Range<usize>,
}

impl Block {
    pub(super) fn argument(&self, key: &str) -> Option<&str> {
        self.arguments
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A chapter's text that is not a well-formed block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub(super) line: usize,
    pub(super) message: String,
}

const OPENING: &str = "<!-- qsim:";

/// Every block of `text`, in order.
pub(super) fn parse(text: &str) -> Result<Vec<Block>, SyntaxError> {
    let mut blocks = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(OPENING) {
        let start = from + found;
        let line = line_of(text, start);
        let end = text[start..]
            .find("-->")
            .map(|e| start + e)
            .ok_or(SyntaxError {
                line,
                message: "a qsim block's comment is not closed with `-->`".to_owned(),
            })?;
        let inner = &text[start + OPENING.len()..end];
        let mut words = inner.split_whitespace();
        let kind_name = words.next().unwrap_or("");
        let kind = BlockKind::ALL
            .into_iter()
            .find(|k| k.name() == kind_name)
            .ok_or_else(|| SyntaxError {
                line,
                message: format!(
                    "unknown block `qsim:{kind_name}`: expected one of {}",
                    BlockKind::ALL.map(|k| format!("`qsim:{k}`")).join(", ")
                ),
            })?;
        let file = words.next().ok_or_else(|| SyntaxError {
            line,
            message: format!("`qsim:{kind}` needs a scenario file, e.g. `scenarios.d/dup.toml`"),
        })?;
        let arguments = words
            .map(|word| {
                word.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| SyntaxError {
                        line,
                        message: format!("`{word}` is not a `key=value` argument"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let after_comment = end + "-->".len();
        let (body, next) = if kind.is_paired() {
            let body_start = text[after_comment..]
                .find('\n')
                .map_or(text.len(), |n| after_comment + n + 1);
            let closing = kind.closing();
            let close = text[body_start..]
                .find(&closing)
                .map(|c| body_start + c)
                .ok_or_else(|| SyntaxError {
                    line,
                    message: format!("`qsim:{kind}` is not closed by `{closing}`"),
                })?;
            if let Some(nested) = text[body_start..close].find(OPENING) {
                return Err(SyntaxError {
                    line: line_of(text, body_start + nested),
                    message: format!("a block inside the `qsim:{kind}` block of line {line}"),
                });
            }
            (body_start..close, close + closing.len())
        } else {
            (after_comment..after_comment, after_comment)
        };
        blocks.push(Block {
            kind,
            file: file.to_owned(),
            arguments,
            line,
            body,
        });
        from = next;
    }
    if let Some(stray) = text[from..].find("<!-- /qsim:") {
        return Err(SyntaxError {
            line: line_of(text, from + stray),
            message: "a closing comment without its opening block".to_owned(),
        });
    }
    Ok(blocks)
}

/// `text` with each block's generated text replaced by `fresh(block)`.
pub(super) fn splice(
    text: &str,
    blocks: &[Block],
    mut fresh: impl FnMut(&Block) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for block in blocks.iter().filter(|b| b.kind.is_paired()) {
        out.push_str(&text[at..block.body.start]);
        let body = fresh(block);
        out.push_str(&body);
        if !body.is_empty() && !body.ends_with('\n') {
            out.push('\n');
        }
        at = block.body.end;
    }
    out.push_str(&text[at..]);
    out
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_blocks_and_claims_are_found_with_their_lines_and_arguments() {
        let text = "# T\n<!-- qsim:run scenarios.d/dup.toml story=orders-0001 -->\nold\n<!-- /qsim:run -->\n\
                    text <!-- qsim:claim scenarios.d/dup.toml verdict=pass lost=0 --> more\n";
        let blocks = parse(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].kind, BlockKind::Run);
        assert_eq!(blocks[0].line, 2);
        assert_eq!(blocks[0].argument("story"), Some("orders-0001"));
        assert_eq!(&text[blocks[0].body.clone()], "old\n");
        assert_eq!(blocks[1].kind, BlockKind::Claim);
        assert_eq!(blocks[1].line, 5);
        assert_eq!(
            blocks[1].arguments,
            [
                ("verdict".into(), "pass".into()),
                ("lost".into(), "0".into())
            ]
        );
    }

    #[test]
    fn splicing_replaces_only_the_generated_text() {
        let text = "a\n<!-- qsim:scenario f.toml -->\nold\nold\n<!-- /qsim:scenario -->\nb\n";
        let blocks = parse(text).unwrap();
        let out = splice(text, &blocks, |_| "new".to_owned());
        assert_eq!(
            out,
            "a\n<!-- qsim:scenario f.toml -->\nnew\n<!-- /qsim:scenario -->\nb\n"
        );
        // Splicing the spliced text again changes nothing.
        let again = splice(&out, &parse(&out).unwrap(), |_| "new".to_owned());
        assert_eq!(again, out);
    }

    #[test]
    fn malformed_blocks_are_errors_with_their_line() {
        let cases = [
            ("x\n<!-- qsim:run f.toml -->\nbody\n", 2, "not closed by"),
            ("<!-- qsim:walk f.toml -->", 1, "unknown block"),
            (
                "<!-- qsim:run -->\n<!-- /qsim:run -->",
                1,
                "needs a scenario file",
            ),
            ("<!-- qsim:claim f.toml lost -->", 1, "not a `key=value`"),
            ("\n\n<!-- /qsim:run -->", 3, "without its opening"),
            ("<!-- qsim:claim f.toml", 1, "not closed with"),
            (
                "<!-- qsim:run a.toml -->\n<!-- qsim:claim a.toml lost=0 -->\n<!-- /qsim:run -->",
                2,
                "inside",
            ),
        ];
        for (text, line, message) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error:?}");
            assert!(error.message.contains(message), "{text:?}: {error:?}");
        }
    }
}
