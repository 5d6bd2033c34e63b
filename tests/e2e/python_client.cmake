# The cross-language client test: tests/e2e/python_client.py drives the whole stack through
# Python stubs generated here from protos/ (never committed), with Debian's python3-grpcio and
# python3-protobuf. Included from tests/e2e/CMakeLists.txt.

# Debian's interpreter, not the first python3 on PATH: python3-grpcio and python3-protobuf are
# installed for /usr/bin/python3 only (a pyenv or venv python3 would not find them).
set(DUBAN_PYTHON3 /usr/bin/python3 CACHE FILEPATH "Python with python3-grpcio for the e2e client")
find_program(DUBAN_GRPC_PYTHON_PLUGIN grpc_python_plugin REQUIRED)

set(DUBAN_PYTHON_STUB_DIR ${CMAKE_BINARY_DIR}/python)
set(googleapis_dir /usr/share/gocode/src/github.com/gogo/googleapis)

# duban.*.v1 with services (grpc stubs); google.rpc status and error details as messages only,
# to decode the grpc-status-details-bin trailer (grpcio-status is not packaged in Debian 12).
set(service_protos duban/units/v1/units duban/tasks/v1/tasks duban/reminders/v1/reminders)
set(rpc_protos google/rpc/status google/rpc/error_details)
set(stub_outputs)
set(stub_depends)
foreach(stem ${service_protos})
  list(APPEND stub_outputs ${DUBAN_PYTHON_STUB_DIR}/${stem}_pb2.py
       ${DUBAN_PYTHON_STUB_DIR}/${stem}_pb2_grpc.py)
  list(APPEND stub_depends ${PROJECT_SOURCE_DIR}/protos/${stem}.proto)
endforeach()
foreach(stem ${rpc_protos})
  list(APPEND stub_outputs ${DUBAN_PYTHON_STUB_DIR}/${stem}_pb2.py)
  list(APPEND stub_depends ${googleapis_dir}/${stem}.proto)
endforeach()
list(TRANSFORM service_protos APPEND .proto)
list(TRANSFORM rpc_protos APPEND .proto)

# No __init__.py files: duban/ and google/ stay namespace packages, so google.rpc from here
# and google.protobuf from dist-packages import side by side.
add_custom_command(OUTPUT ${stub_outputs}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${DUBAN_PYTHON_STUB_DIR}
  COMMAND protobuf::protoc -I${PROJECT_SOURCE_DIR}/protos -I${googleapis_dir} -I/usr/include
          --python_out=${DUBAN_PYTHON_STUB_DIR} --grpc_python_out=${DUBAN_PYTHON_STUB_DIR}
          --plugin=protoc-gen-grpc_python=${DUBAN_GRPC_PYTHON_PLUGIN} ${service_protos}
  COMMAND protobuf::protoc -I${googleapis_dir} -I/usr/include
          --python_out=${DUBAN_PYTHON_STUB_DIR} ${rpc_protos}
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/protos
  DEPENDS ${stub_depends} protobuf::protoc
  COMMENT "protoc --python_out: duban and google.rpc stubs for the Python e2e client" VERBATIM)
add_custom_target(duban_python_stubs DEPENDS ${stub_outputs})

duban_test(NAME e2e_python_client_test
  SOURCES stack.cc python_client_e2e_test.cc
  LIBS duban_units_proto duban_tasks_proto duban_reminders_proto duban_queue
  LABELS e2e)
add_dependencies(e2e_python_client_test duban_python_stubs
  duban-units duban-tasks duban-reminders duban-worker)
target_compile_definitions(e2e_python_client_test PRIVATE
  DUBAN_UNITS_BINARY="$<TARGET_FILE:duban-units>"
  DUBAN_TASKS_BINARY="$<TARGET_FILE:duban-tasks>"
  DUBAN_REMINDERS_BINARY="$<TARGET_FILE:duban-reminders>"
  DUBAN_WORKER_BINARY="$<TARGET_FILE:duban-worker>"
  DUBAN_REDIS_CONF="${PROJECT_SOURCE_DIR}/deploy/redis.conf"
  DUBAN_PYTHON3="${DUBAN_PYTHON3}"
  DUBAN_PYTHON_STUB_DIR="${DUBAN_PYTHON_STUB_DIR}"
  DUBAN_PYTHON_CLIENT="${CMAKE_CURRENT_SOURCE_DIR}/python_client.py")
