/* Unit tests for provision.c: the record of what was provisioned, as
 * `qinstall status` shows it, and a profile without components. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/provision.h"
#include "unit.h"

static char *tmp;

static int setup(void **state)
{
	tmp = ut_tmpdir("provision");
	return 0;
}

static int teardown(void **state)
{
	ut_tmpdir_remove(tmp);
	return 0;
}

static void write_record(const char *text)
{
	ut_mkdir(tmp, "var/lib/qinstall", 0755);
	ut_write(tmp, "var/lib/qinstall/provision.json", text, 0);
}

/* A root never provisioned adds nothing; a provisioned one shows its
 * record (components, build logs) as "provisioned"; a damaged record is a
 * warning, not a failure of status. */
static void test_status_record(void **state)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	assert_int_equal(qi_set_root(h, tmp), 0);
	assert_int_equal(qi_provision_status(h), 0);
	assert_null(json_object_get(qi_result(h), "provisioned"));

	write_record("{\"profile\": \"p\", \"components\": [{\"name\": \"ucspi-tcp\", "
		     "\"build_log\": \"/var/cache/qinstall/logs/x.log\"}]}\n");
	assert_int_equal(qi_provision_status(h), 0);
	json_t *rec = json_object_get(qi_result(h), "provisioned");
	assert_non_null(rec);
	json_t *c0 = json_array_get(json_object_get(rec, "components"), 0);
	assert_string_equal(json_string_value(json_object_get(c0, "build_log")), "/var/cache/qinstall/logs/x.log");

	write_record("{not json");
	json_object_del(qi_result(h), "provisioned");
	assert_int_equal(qi_provision_status(h), 0);
	assert_null(json_object_get(qi_result(h), "provisioned"));
	assert_int_equal(json_array_size(qi_warnings(h)), 1);
	qi_free(h);
}

/* A profile with nothing to build is refused by prepare, with the file. */
static void test_no_components(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = NULL;
	const char *text = "[mail]\ndomain = example.org\n";
	assert_int_equal(qi_profile_parse_buffer(h, "empty.profile", text, strlen(text), &p), 0);
	struct qi_provision *pv = NULL;
	assert_int_equal(qi_provision_prepare(h, p, NULL, &pv), -1);
	assert_null(pv);
	assert_non_null(strstr(qi_errmsg(h), "profile empty.profile has no [component NAME]"));
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	qi_profile_free(p);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_record),
		cmocka_unit_test(test_no_components),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
