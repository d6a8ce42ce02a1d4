/* C accelerator of callcenter.ami.protocol: the common case of the parser.
 *
 * parse_crlf_frames(buf, end) parses buf[:end], a run of complete AMI frames
 * separated by blank lines ("\r\n\r\n"), into a list of frames, exactly as
 * protocol._parse_crlf_frames does in Python. It returns None, and the
 * Python line path takes over, whenever the bytes leave the common case: a
 * bare CR or LF, a line without ": ", a frame starting "Response: Follows",
 * bytes that are not UTF-8. Built when a C compiler is at hand (setup.py);
 * without it the Python implementation runs. Nothing here keeps state
 * between calls but a cache of key strings.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Keys repeat in every frame ("Event", "Channel", ...): one str object per
 * key spelling saves a decode, an allocation and a hash per line. A small
 * direct-mapped cache of ASCII keys; a collision simply replaces. */
#define KEY_CACHE_SIZE 512
#define KEY_CACHE_MAX_LEN 48
static PyObject *key_cache[KEY_CACHE_SIZE];

static PyObject *
decode_key(const char *s, Py_ssize_t n)
{
    if (n > KEY_CACHE_MAX_LEN) {
        return PyUnicode_DecodeUTF8(s, n, NULL);
    }
    unsigned int h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    PyObject **slot = &key_cache[h % KEY_CACHE_SIZE];
    PyObject *hit = *slot;
    if (hit != NULL && PyUnicode_GET_LENGTH(hit) == n
        && memcmp(PyUnicode_DATA(hit), s, (size_t)n) == 0) {
        Py_INCREF(hit);
        return hit;
    }
    PyObject *key = PyUnicode_DecodeUTF8(s, n, NULL);
    if (key != NULL && PyUnicode_IS_ASCII(key)) {
        Py_INCREF(key);
        Py_XSETREF(*slot, key);
    }
    return key;
}

/* Add key: value to frame; a key met again turns its value into a list. */
static int
add_field(PyObject *frame, PyObject *key, PyObject *value)
{
    /* Inserted or not is told by the size: "" and one-character values are
     * shared objects, so old == value does not mean the key was new. */
    Py_ssize_t size = PyDict_GET_SIZE(frame);
    PyObject *old = PyDict_SetDefault(frame, key, value); /* borrowed */
    if (old == NULL) {
        return -1;
    }
    if (PyDict_GET_SIZE(frame) != size) {
        return 0;
    }
    if (PyList_CheckExact(old)) {
        return PyList_Append(old, value);
    }
    PyObject *both = PyList_New(2);
    if (both == NULL) {
        return -1;
    }
    Py_INCREF(old);
    PyList_SET_ITEM(both, 0, old);
    Py_INCREF(value);
    PyList_SET_ITEM(both, 1, value);
    int rc = PyDict_SetItem(frame, key, both);
    Py_DECREF(both);
    return rc;
}

static const char FOLLOWS[] = "Response: Follows";

/* Append *frame (when a line started one) to out and forget it; -1 on error. */
static int
end_frame(PyObject *out, PyObject **frame)
{
    if (*frame == NULL) {
        return 0;
    }
    int rc = PyList_Append(out, *frame);
    Py_CLEAR(*frame);
    return rc;
}

/* Returns 1 with the frames appended to out, 0 to give up (fall back), -1 on error. */
static int
parse(const char *p, const char *stop, PyObject *out)
{
    PyObject *frame = NULL;
    for (;;) {
        const char *cr = memchr(p, '\r', (size_t)(stop - p));
        const char *eol = cr != NULL ? cr : stop;
        if (memchr(p, '\n', (size_t)(eol - p)) != NULL) {
            goto give_up; /* a bare LF */
        }
        if (cr != NULL && (cr + 1 >= stop || cr[1] != '\n')) {
            goto give_up; /* a bare CR */
        }
        if (p == eol) { /* a blank line: the end of a frame */
            if (end_frame(out, &frame) < 0) {
                return -1;
            }
        }
        else {
            const char *sep = p;
            for (;;) {
                sep = memchr(sep, ':', (size_t)(eol - sep));
                if (sep == NULL || (sep + 1 < eol && sep[1] == ' ')) {
                    break;
                }
                sep++;
            }
            if (sep == NULL) {
                goto give_up; /* a keyless or "Key:value" line */
            }
            if (frame == NULL) {
                if (eol - p == (Py_ssize_t)(sizeof(FOLLOWS) - 1)
                    && memcmp(p, FOLLOWS, sizeof(FOLLOWS) - 1) == 0) {
                    goto give_up; /* its body may hold blank lines */
                }
                frame = PyDict_New();
                if (frame == NULL) {
                    return -1;
                }
            }
            PyObject *key = decode_key(p, sep - p);
            if (key == NULL) {
                goto fail;
            }
            PyObject *value = PyUnicode_DecodeUTF8(sep + 2, eol - sep - 2, NULL);
            if (value == NULL) {
                Py_DECREF(key);
                goto fail;
            }
            int rc = add_field(frame, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
            if (rc < 0) {
                goto fail;
            }
        }
        if (cr == NULL) {
            break;
        }
        p = cr + 2;
    }
    return end_frame(out, &frame) < 0 ? -1 : 1;

fail:
    Py_XDECREF(frame);
    if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        return 0; /* not UTF-8: the line path replaces and reports it */
    }
    return -1;

give_up:
    Py_XDECREF(frame);
    return 0;
}

static PyObject *
parse_crlf_frames(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t end;
    if (!PyArg_ParseTuple(args, "y*n:parse_crlf_frames", &view, &end)) {
        return NULL;
    }
    if (end < 0 || end > view.len) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "end out of range");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const char *start = view.buf;
    int rc = parse(start, start + end, out);
    PyBuffer_Release(&view);
    if (rc <= 0) {
        Py_DECREF(out);
        if (rc < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"parse_crlf_frames", parse_crlf_frames, METH_VARARGS,
     "parse_crlf_frames(buf, end) -> list[dict] | None\n\n"
     "The frames of buf[:end] (CRLF lines, frames apart by a blank line), or None\n"
     "when they need the line-by-line path."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "callcenter.ami._speedups",
    "C accelerator of the AMI parser's common case.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
