"""`adain serve`: a local web app (Starlette + a plain HTML/JS page) over one `Stylizer`.

`app.py`: the routes and their limits; `session.py`: one browser tab's cached encodings;
`examples.py`: the example contents and the style gallery; `static/`: the page. Needs the `app` extra.
"""
