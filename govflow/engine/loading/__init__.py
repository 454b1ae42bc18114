"""The parts of `govflow.engine.loader`, by responsibility:

- `scanning`: pass 1, the raw text (size, encoding, a scan of YAML events
  refusing tags, anchors and deep nesting);
- `positions`: line and column of keys, values and items, 1-based;
- `primitives`: the reader's base: problems, keys, text, numbers, labels,
  departments, durations, flows and conditions;
- `form`: the form's fields and attachments;
- `nodes`: the node lists, each node read by its kind (`govflow.engine.kinds`);
- `checks`: cross-references that need the whole document;
- `catalogue`: what the template publishes into and reuses from the data
  catalogue.

`govflow.engine.loader` puts them together and keeps the public names.
"""
