/*
 * The C side of ext-sse: one-line wrappers around Zend macros and engine internals that Rust
 * cannot reach (SG, PG, EG, OG, JSON_G, zend_try). Every symbol starts with `sse_`.
 *
 * Nothing here may longjmp into Rust: every call that can bail out (a write to a gone client,
 * an execution timeout) runs inside zend_try and reports the bailout as a return value, so the
 * Rust caller can drop its state first and then continue the bailout itself.
 */
#include <php.h>
#include <SAPI.h>
#include <main/php_output.h>
#include <main/php_main.h>
#include <ext/json/php_json.h>
#include <ext/spl/spl_exceptions.h>
#include <zend_exceptions.h>
#include <zend_smart_str.h>
#include <sys/socket.h>
#include <syslog.h>
#include <sys/stat.h>

/* ---- exception classes --------------------------------------------------------------- */

static zend_class_entry *sse_ce_sse_exception;
static zend_class_entry *sse_ce_invalid_event_exception;

/* Registered with the engine's own builder so that they inherit Exception::__construct
 * (a Rust-defined class always gets a Rust constructor, which `new X('msg')` cannot use). */
void sse_register_exception_classes(void)
{
	zend_class_entry ce;
	INIT_CLASS_ENTRY(ce, "Sse\\SseException", NULL);
	sse_ce_sse_exception = zend_register_internal_class_ex(&ce, spl_ce_RuntimeException);
	INIT_CLASS_ENTRY(ce, "Sse\\InvalidEventException", NULL);
	sse_ce_invalid_event_exception = zend_register_internal_class_ex(&ce, spl_ce_InvalidArgumentException);
}

zend_class_entry *sse_sse_exception_ce(void) { return sse_ce_sse_exception; }
zend_class_entry *sse_invalid_event_exception_ce(void) { return sse_ce_invalid_event_exception; }
zend_class_entry *sse_invalid_argument_exception_ce(void) { return spl_ce_InvalidArgumentException; }

/* ---- values ---------------------------------------------------------------------------- */

/* json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) without changing what
 * json_last_error() reports to the user. NULL on failure, with the JSON_ERROR_* code set (0 when
 * an exception thrown by jsonSerialize() is pending instead). */
#if PHP_VERSION_ID >= 80600
/* PHP 8.6 (ext/json/php_json.h) keeps the last error as a struct: its code, line and column. */
# define SSE_JSON_LAST_ERROR JSON_G(error_details)
# define SSE_JSON_ERROR_CODE(error) ((error).code)
typedef php_json_error_details sse_json_last_error;
#else
# define SSE_JSON_LAST_ERROR JSON_G(error_code)
# define SSE_JSON_ERROR_CODE(error) (error)
typedef php_json_error_code sse_json_last_error;
#endif

zend_string *sse_json_encode(zval *value, int *error_code)
{
	smart_str buf = {0};
	sse_json_last_error saved = SSE_JSON_LAST_ERROR;
	zend_result result = php_json_encode_ex(&buf, value,
		PHP_JSON_UNESCAPED_SLASHES | PHP_JSON_UNESCAPED_UNICODE, PHP_JSON_PARSER_DEFAULT_DEPTH);
	*error_code = SSE_JSON_ERROR_CODE(SSE_JSON_LAST_ERROR);
	SSE_JSON_LAST_ERROR = saved;
	if (result == FAILURE || *error_code != PHP_JSON_ERROR_NONE) {
		smart_str_free(&buf);
		return NULL;
	}
	smart_str_0(&buf);
	return buf.s ? buf.s : ZSTR_EMPTY_ALLOC();
}

/* The string PHP itself makes of a scalar: (string) $value, e.g. 0.1 + 0.2 gives "0.3". */
zend_string *sse_to_php_string(zval *value) { return zval_get_string(value); }

const char *sse_string_bytes(zend_string *s, size_t *len) { *len = ZSTR_LEN(s); return ZSTR_VAL(s); }
void sse_string_release(zend_string *s) { zend_string_release(s); }

/* ---- request ------------------------------------------------------------------------- */

const char *sse_sapi_name(void) { return sapi_module.name; }

/* A superglobal entry as the script sees it now ($_SERVER is armed first: with
 * auto_globals_jit it does not exist until something asks for it). */
zval *sse_superglobal_entry(const char *superglobal, const char *key)
{
	zend_string *name = zend_string_init(superglobal, strlen(superglobal), 0);
	zend_is_auto_global(name);
	zval *array = zend_hash_find(&EG(symbol_table), name);
	zend_string_release(name);
	if (!array) return NULL;
	ZVAL_DEREF(array);
	if (Z_TYPE_P(array) != IS_ARRAY) return NULL;
	zval *entry = zend_hash_str_find(Z_ARRVAL_P(array), key, strlen(key));
	if (entry) ZVAL_DEREF(entry);
	return entry;
}

/* ---- headers and output ---------------------------------------------------------------- */

bool sse_headers_sent(const char **file, int *line)
{
	if (!SG(headers_sent)) return false;
	*file = php_output_get_start_filename();
	*line = php_output_get_start_lineno();
	return true;
}

bool sse_set_header(const char *line, size_t len, bool replace)
{
	sapi_header_line ctr = {0};
	ctr.line = line;
	ctr.line_len = len;
	return sapi_header_op(replace ? SAPI_HEADER_REPLACE : SAPI_HEADER_ADD, &ctr) == SUCCESS;
}

/* The Content-Type of the response ("" when none was set). */
const char *sse_content_type(void) { return SG(sapi_headers).mimetype ? SG(sapi_headers).mimetype : ""; }

void sse_set_status(int code) { SG(sapi_headers).http_response_code = code; }

/* How many bytes all output buffers hold together. */
size_t sse_buffered_bytes(void)
{
	size_t held = 0;
	int count = zend_stack_count(&OG(handlers));
	php_output_handler **handlers = (php_output_handler **) zend_stack_base(&OG(handlers));
	for (int i = 0; i < count; i++) {
		held += handlers[i]->buffer.used;
	}
	return held;
}

/* Discards every output buffer, including ones PHP code cannot remove (the zlib handler). */
void sse_discard_output_buffers(void) { php_output_discard_all(); }

/* From here on, output of the request is dropped instead of written to the SAPI (what php-fpm's
 * fastcgi_finish_request() does); the flag lives until the end of the request. */
void sse_disable_output(void) { OG(flags) |= PHP_OUTPUT_DISABLED; }

/* An ini change that PHP undoes at the end of the request, as ini_set() would. */
bool sse_set_ini(const char *name, const char *value)
{
	zend_string *key = zend_string_init(name, strlen(name), 0);
	zend_result result = zend_alter_ini_entry_chars(key, value, strlen(value), PHP_INI_USER, PHP_INI_STAGE_RUNTIME);
	zend_string_release(key);
	return result == SUCCESS;
}

/* The current value of an ini setting (NULL when it is not registered). */
const char *sse_ini_string(const char *name) { return zend_ini_string_ex(name, strlen(name), 0, NULL); }

/* Sends the headers if needed, writes past every output buffer straight to the SAPI and
 * flushes the SAPI (one write to the web server per call on php-fpm). False when the write
 * bailed out; the caller then treats the client as gone. */
bool sse_write_direct(const char *buf, size_t len)
{
	volatile bool ok = true;
	zend_try {
		sapi_send_headers();
		php_output_write_unbuffered(buf, len);
		sapi_flush();
	} zend_catch {
		ok = false;
	} zend_end_try();
	return ok;
}

/* Writes through PHP's output layer, so that ob_start() captures it (CLI, tests). */
bool sse_write_buffered(const char *buf, size_t len)
{
	volatile bool ok = true;
	zend_try {
		php_output_write(buf, len);
	} zend_catch {
		ok = false;
	} zend_end_try();
	return ok;
}

bool sse_connection_aborted(void) { return (PG(connection_status) & PHP_CONNECTION_ABORTED) != 0; }

/* ---- the client's socket (disconnects without a write) ---------------------------------- */

/* php-cgi run as plain CGI (not FastCGI) sets the server context to (void *) 1 instead of a
 * request record: anything that is not a real pointer is not one. */
static bool sse_is_request_record(const void *context)
{
	return (uintptr_t) context >= 4096;
}

/* The socket to the browser under cli-server (its client record keeps it right after the
 * server pointer; php-src 8.2-8.6 sapi/cli/php_cli_server.c, struct php_cli_server_client).
 * -1 when unknown, or when what is found there is not a connected stream socket. (FastCGI
 * SAPIs: see sse_fastcgi_record_ints.) */
int sse_cli_server_socket(void)
{
	void *context = SG(server_context);
	const char *name = sapi_module.name;
	if (!sse_is_request_record(context) || !name || strcmp(name, "cli-server") != 0) return -1;
	int fd = *(int *) ((char *) context + sizeof(void *));
	struct stat st;
	int type = 0;
	socklen_t type_len = sizeof(type);
	struct sockaddr_storage peer;
	socklen_t peer_len = sizeof(peer);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM) return -1;
	if (getpeername(fd, (struct sockaddr *) &peer, &peer_len) != 0) return -1;
	return fd;
}

static bool sse_is_fastcgi_sapi(void)
{
	const char *name = sapi_module.name;
	return name && (strcmp(name, "fpm-fcgi") == 0 || strcmp(name, "cgi-fcgi") == 0);
}

/* Copies the first five ints of the FastCGI request record (php-fpm, php-cgi; php-src 8.2-8.6
 * main/fastcgi.c, struct _fcgi_request: listen_socket, tcp, fd, id, keep, unchanged since PHP
 * 7.0), starting `skip` ints further on (0; a test reads them off on purpose). Nothing exports
 * the struct: the caller checks the values against the kernel before using any
 * (sse-core's fastcgi_record). False under any other SAPI. */
bool sse_fastcgi_record_ints(int out[5], int skip)
{
	const int *record = SG(server_context);
	if (!sse_is_fastcgi_sapi() || !sse_is_request_record(record) || skip < 0 || skip > 4) return false;
	memcpy(out, record + skip, 5 * sizeof(int));
	return true;
}

/* Hands the socket of the current php-fpm request to the caller, who from now on owns it: the
 * request record (see above; the caller checked it and passes the fd it found) is told its
 * connection is gone (fd = -1), so php-fpm's end of request writes nothing on it and closes
 * nothing (fcgi_finish_request() and fcgi_close() skip a negative fd) and its next
 * fcgi_accept_request() accepts a new connection. False when the record no longer holds that
 * fd, or under another SAPI than php-fpm. */
bool sse_fastcgi_forget_socket(int fd)
{
	int *record = SG(server_context);
	const char *name = sapi_module.name;
	if (!name || strcmp(name, "fpm-fcgi") != 0 || !sse_is_request_record(record) || record[2] != fd) return false;
	record[2] = -1;
	return true;
}

/* A line in PHP's error log, at warning severity. */
void sse_log_warning(const char *message) { php_log_err_with_severity(message, LOG_WARNING); }

const char *sse_php_version(void) { return PHP_VERSION; }

/* ---- interrupts ------------------------------------------------------------------------ */

bool sse_interrupt_pending(void) { return zend_atomic_bool_load_ex(&EG(vm_interrupt)); }

/* Runs what the VM runs at an interrupt: pcntl_async_signals handlers, or the execution time
 * limit. Returns true when that bailed out (the time limit is a fatal error): the caller must
 * drop its state and call sse_bailout(). */
bool sse_handle_interrupt(void)
{
	volatile bool bailed = false;
	if (!zend_atomic_bool_load_ex(&EG(vm_interrupt))) return false;
	zend_try {
		zend_atomic_bool_store_ex(&EG(vm_interrupt), false);
		if (zend_atomic_bool_load_ex(&EG(timed_out))) {
			zend_timeout();
		} else if (zend_interrupt_function) {
			zend_interrupt_function(EG(current_execute_data));
		}
	} zend_catch {
		bailed = true;
	} zend_end_try();
	return bailed;
}

bool sse_exception_pending(void) { return EG(exception) != NULL; }

/* exit() is unwinding the script (PHP 8 implements it as an internal exception). */
bool sse_exit_pending(void) { return EG(exception) && zend_is_unwind_exit(EG(exception)); }

/* Makes a class's `__destruct` method its destructor (the binding layer registers the method
 * but not the engine's destructor slot). */
void sse_use_destruct_method(zend_class_entry *ce)
{
	if (ce->destructor) return;
	zend_function *method = zend_hash_str_find_ptr(&ce->function_table, "__destruct", sizeof("__destruct") - 1);
	if (method) ce->destructor = method;
}

zend_class_entry *sse_json_serializable_ce(void) { return php_json_serializable_ce; }

/* header_remove($name). */
void sse_remove_header(const char *name, size_t len)
{
	sapi_header_line ctr = {0};
	ctr.line = name;
	ctr.line_len = len;
	sapi_header_op(SAPI_HEADER_DELETE, &ctr);
}

/* A zval holding a new reference to an object (to pass $this to a callback). */
void sse_object_zval(zend_object *object, zval *out) { ZVAL_OBJ_COPY(out, object); }

/* Takes the pending exception out of the engine so that cleanup code can call PHP functions
 * (the engine refuses to while an exception is pending). exit() is left in place: it is not an
 * exception to hand back, and the script is ending anyway. */
zend_object *sse_exception_take(void)
{
	zend_object *exception = EG(exception);
	if (!exception || zend_is_unwind_exit(exception) || zend_is_graceful_exit(exception)) return NULL;
	EG(exception) = NULL;
	return exception;
}

/* Throws a taken exception again; if the cleanup threw one of its own, that one is thrown with
 * the original as its previous exception. */
void sse_exception_put_back(zend_object *exception)
{
	if (EG(exception)) {
		zend_exception_set_previous(EG(exception), exception);
	} else {
		zend_throw_exception_internal(exception);
	}
}
