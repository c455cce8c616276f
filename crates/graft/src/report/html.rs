//! HTML assembly: escaping, the page shell with its inline style sheet, tables and metric
//! cards. Pages are plain strings; no script runs in them and nothing is fetched.

/// Text made safe inside HTML elements and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;\
background:#f6f7f9;color:#1d2330;line-height:1.45}\
main{max-width:1200px;margin:0 auto;padding:24px 28px 48px}\
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:32px 0 10px;\
border-bottom:1px solid #d8dce3;padding-bottom:4px}h3{font-size:1em;margin:14px 0 6px}\
.sub{color:#5b6475;margin:0 0 18px}\
.cards{display:flex;flex-wrap:wrap;gap:12px}\
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:10px 16px;min-width:130px}\
.card .v{font-size:1.5em;font-weight:600}.card .k{color:#5b6475;font-size:.85em}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}\
.fig{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:8px}\
.fig svg{max-width:100%;height:auto;display:block;margin:0 auto}\
table{border-collapse:collapse;background:#fff;font-size:.92em}\
td,th{border:1px solid #dde1e8;padding:4px 10px;text-align:left;vertical-align:top}\
th{background:#eef0f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\
pre{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:12px;overflow:auto;\
font-size:.85em}\
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;justify-content:center;font-size:.85em;\
margin:2px 0 4px}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;\
margin-right:5px;vertical-align:-1px}\
.note{color:#5b6475;font-size:.9em}.warn{color:#a0461a}\
footer{color:#8a92a3;font-size:.8em;margin-top:40px}";

/// A whole document: `title` in the head, `body` inside `<main>`.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n\
         <footer>Written by graft {}. Self-contained: no script, no network.</footer>\n\
         </main>\n</body>\n</html>\n",
        esc(title),
        env!("CARGO_PKG_VERSION")
    )
}

/// A section with its heading and content.
pub fn section(id: &str, heading: &str, content: &str) -> String {
    format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n{content}\n</section>\n",
        esc(id),
        esc(heading)
    )
}

/// Headline numbers as cards: `(label, value)`.
pub fn cards(items: &[(String, String)]) -> String {
    let mut s = String::from("<div class=\"cards\">");
    for (k, v) in items {
        s.push_str(&format!(
            "<div class=\"card\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
            esc(v),
            esc(k)
        ));
    }
    s.push_str("</div>");
    s
}

/// A two-column table of `(name, value)` rows.
pub fn key_values(rows: &[(String, String)]) -> String {
    let mut s = String::from("<table>");
    for (k, v) in rows {
        s.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
    }
    s.push_str("</table>");
    s
}

/// A table with a header row; cells that parse as numbers are right-aligned.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in header {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let numeric = c.trim_end_matches('%').trim().parse::<f64>().is_ok();
            let class = if numeric { " class=\"n\"" } else { "" };
            s.push_str(&format!("<td{class}>{}</td>", esc(c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// One plot: its SVG, a legend of `(name, CSS colour)` swatches and a caption.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    pub svg: String,
    pub legend: Vec<(String, String)>,
    pub caption: String,
}

impl Figure {
    pub fn new(svg: String) -> Self {
        Figure {
            svg,
            ..Default::default()
        }
    }

    pub fn caption(mut self, text: impl Into<String>) -> Self {
        self.caption = text.into();
        self
    }

    pub fn legend(mut self, items: Vec<(String, String)>) -> Self {
        self.legend = items;
        self
    }
}

/// Figures side by side, each with its legend and caption under it.
pub fn figures(figs: &[Figure]) -> String {
    let mut s = String::from("<div class=\"grid\">");
    for f in figs {
        s.push_str("<div class=\"fig\">");
        s.push_str(&f.svg);
        if !f.legend.is_empty() {
            s.push_str("<div class=\"legend\">");
            for (name, colour) in &f.legend {
                s.push_str(&format!(
                    "<span><i style=\"background:{}\"></i>{}</span>",
                    esc(colour),
                    esc(name)
                ));
            }
            s.push_str("</div>");
        }
        if !f.caption.is_empty() {
            s.push_str(&format!("<div class=\"note\">{}</div>", esc(&f.caption)));
        }
        s.push_str("</div>");
    }
    s.push_str("</div>");
    s
}

/// A paragraph of explanatory text.
pub fn note(text: &str) -> String {
    format!("<p class=\"note\">{}</p>", esc(text))
}

/// Preformatted text (a recipe).
pub fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", esc(text))
}

/// A fraction as a percentage with two decimals.
pub fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_marks_numbers() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let t = table(&["a".into()], &[vec!["12.5%".into()], vec!["x<y".into()]]);
        assert!(t.contains("<td class=\"n\">12.5%</td>") && t.contains("<td>x&lt;y</td>"));
        let d = document("a<b", "<p>hi</p>");
        assert!(d.contains("<title>a&lt;b</title>") && !d.contains("<script"));
    }
}
