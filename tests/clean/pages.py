"""Small synthetic pages shared by the cleaning tests."""

from __future__ import annotations

PARAGRAPHS = [
    "The city council voted on Tuesday to extend the night bus network to the northern "
    "districts, a decision that residents had demanded for more than a decade.",
    "Under the plan, six new lines will run every twenty minutes between midnight and five "
    "in the morning, connecting the hospitals, the airport and the main railway station.",
    "Critics said the budget, estimated at four million euros a year, would be better spent "
    "on the existing daytime lines, which are often overcrowded and late.",
    "The mayor answered that night workers, nurses and cleaners among them, had waited long "
    "enough, and that the first lines would open in the spring.",
]


def article_page(
    paragraphs: list[str] = PARAGRAPHS,
    *,
    title: str = "Night buses come to the north",
    head: str = "",
    extra_body: str = "",
    html_attrs: str = ' lang="en"',
) -> str:
    """A news page: header, nav, share bar, the article, related links, sidebar, footer."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html{html_attrs}><head><meta charset="utf-8">
<title>{title} | The Daily Example</title>{head}</head>
<body class="has-sidebar">
<header class="site-header"><a href="/">The Daily Example</a>
<nav><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/culture">Culture</a></li></ul></nav></header>
<div class="breadcrumb"><a href="/">Home</a> / <a href="/news">News</a></div>
<main><article class="story">
<h1>{title}</h1>
<div class="byline">By Jane Reporter, 3 March 2024</div>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Tweet</a></div>
<figure><img src="bus.jpg" alt="A night bus"><figcaption>A night bus at the depot.</figcaption></figure>
<div class="story-body">{body}{extra_body}</div>
<div class="related-stories"><h3>Related</h3><ul>
<li><a href="/a">Tram line closes for the summer works on the river bank</a></li>
<li><a href="/b">Cycle lanes extended to the old harbour and the university campus</a></li>
</ul></div>
</article></main>
<aside class="sidebar"><h3>Most read</h3><p>Local football club wins the regional cup after a dramatic penalty shootout.</p></aside>
<footer><p>© 2024 The Daily Example. All rights reserved.</p><a href="/impressum">Impressum</a></footer>
</body></html>"""
